// npm run bench:pipeline. (1) Documents and chunks per second through the whole pipeline with the
// LlamaParse and embeddings emulators at zero latency, against graphile-worker running the same
// number of no-op tasks on the same database (the orchestration ceiling). (2) With the emulators
// at realistic latency, how busy the pipeline keeps the external APIs.
import { run, type Task } from 'graphile-worker';
import { sql } from 'slonik';
import { z } from 'zod';
import { scratchDatabase } from './harness.ts';
import { createDatabasePool } from '../lib/db/database.ts';
import { loadConfig } from '../lib/config.ts';
import { createLogger } from '../lib/log.ts';
import { buildDeps } from '../worker/buildDeps.ts';
import { intakePolicy } from '../lib/intake/intakePolicy.ts';
import { startWorkers } from '../worker/startWorkers.ts';
import { ingestDocument } from '../lib/intake/ingestDocument.ts';
import { LlamaParseEmulator } from '../emulators/llamaparse/index.ts';
import { EmbeddingEmulator } from '../emulators/embeddings.ts';
import { pointAt } from '../emulators/pointAt.ts';
import { graphileLogger } from '../lib/db/migrate.ts';
import { waitForTerminal } from '../lib/jobs/waitForTerminal.ts';

const DOCS = Number(process.env.BENCH_DOCS ?? 200);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 8);

let seed = 42;
const word = () => ((seed = (seed * 48271) % 2147483647), seed.toString(36).slice(0, 3 + (seed % 7)));
const document = (i: number) =>
  Buffer.from(
    `# Document ${i}\n\n` +
      Array.from({ length: 6 + (i % 5) }, () => Array.from({ length: 120 }, word).join(' ') + '.').join('\n\n'),
  );

async function pipelineRun(
  label: string,
  emulatorOptions: { llamaDelayMs: number; perPageMs: number; embedLatencyMs: number },
) {
  const db = await scratchDatabase();
  const llama = new LlamaParseEmulator({
    startDelayMs: emulatorOptions.llamaDelayMs,
    perPageDelayMs: emulatorOptions.perPageMs,
  });
  const embeddings = new EmbeddingEmulator({ latencyMs: emulatorOptions.embedLatencyMs });
  await Promise.all([llama.start(), embeddings.start()]);
  const pool = await createDatabasePool(db.url, 12);
  try {
    const config = loadConfig({
      DATABASE_URL: db.url,
      ...pointAt({ llamaparse: llama, embeddings }, 256),
      TVDB_POLL_INTERVAL_MS: '200',
      TVDB_WORKER_CONCURRENCY: String(CONCURRENCY),
    });
    const deps = buildDeps(config, pool, createLogger('error'));
    const ids: string[] = [];
    for (let i = 0; i < DOCS; i++) {
      const r = await ingestDocument(pool, { bytes: document(i), fileName: `doc-${i}.md` }, intakePolicy(deps));
      if (r.ok) ids.push(r.jobId);
    }
    const busy = trackBusy(llama, embeddings);
    const started = performance.now();
    const runner = await startWorkers(deps, db.url);
    await waitForTerminal(pool, ids, 600_000);
    const seconds = (performance.now() - started) / 1000;
    busy.stop();
    await runner.stop();
    const stats = await pool.one(sql.type(z.object({ complete: z.number(), chunks: z.number(), tasks: z.number() }))`
      select (select count(*) from jobs where state = 'complete')::int as complete,
             (select count(*) from chunks)::int as chunks,
             (select count(*) from job_events where kind = 'transition')::int as tasks`);
    return {
      label,
      seconds,
      ...stats,
      busy: busy.result(),
      llamaCalls: llama.stats.calls,
      embedRequests: embeddings.stats.requests,
      db,
    };
  } finally {
    await pool.end();
    await Promise.all([llama.stop(), embeddings.stop()]);
  }
}

// Share of wall time the emulators had work: LlamaParse jobs in PENDING/RUNNING, embedding
// requests in flight (sampled every 10 ms).
function trackBusy(llama: LlamaParseEmulator, embeddings: EmbeddingEmulator) {
  let samples = 0;
  let llamaBusy = 0;
  let embedBusy = 0;
  let lastEmbed = embeddings.stats.requests;
  const timer = setInterval(() => {
    samples += 1;
    if ([...llama.jobs.values()].some((j) => j.status === 'PENDING' || j.status === 'RUNNING')) llamaBusy += 1;
    if (embeddings.stats.requests !== lastEmbed) embedBusy += 1;
    lastEmbed = embeddings.stats.requests;
  }, 10);
  return {
    stop: () => clearInterval(timer),
    result: () => ({ llamaparse: llamaBusy / Math.max(1, samples), embeddings: embedBusy / Math.max(1, samples) }),
  };
}

async function noopCeiling(url: string, tasks: number) {
  const noop: Task = async () => {};
  const pool = await createDatabasePool(url, 2);
  await pool.query(sql.unsafe`select graphile_worker.add_job('noop', '{}'::json) from generate_series(1, ${tasks})`);
  const started = performance.now();
  const runner = await run({
    connectionString: url,
    concurrency: CONCURRENCY,
    noHandleSignals: true,
    pollInterval: 200,
    taskList: { noop },
    logger: graphileLogger(createLogger('error')),
  });
  for (;;) {
    const left = await pool.oneFirst(
      sql.type(z.object({ n: z.number() }))`select count(*)::int as n from graphile_worker.jobs`,
    );
    if (left === 0) break;
    await new Promise((r) => setTimeout(r, 20));
  }
  const seconds = (performance.now() - started) / 1000;
  await runner.stop();
  await pool.end();
  return seconds;
}

const fast = await pipelineRun('emulators at zero latency', { llamaDelayMs: 0, perPageMs: 0, embedLatencyMs: 0 });
const graphileTasks = Object.values(fast.llamaCalls).reduce((a, b) => a + b, 0) - DOCS + 3 * DOCS; // uploads+polls (collect tasks) + parse/chunk/embed
const ceilingSeconds = await noopCeiling(fast.db.url, graphileTasks);
await fast.db.drop();
const realistic = await pipelineRun('realistic latency', { llamaDelayMs: 1500, perPageMs: 300, embedLatencyMs: 200 });
await realistic.db.drop();

console.log(
  `\nbench:pipeline, ${DOCS} generated Markdown documents (~1-2 pages), worker concurrency ${CONCURRENCY}, one process\n`,
);
console.log(
  '| run | seconds | docs/s | chunks/s | complete | LlamaParse busy | embeddings busy |\n|---|---|---|---|---|---|---|',
);
for (const r of [fast, realistic]) {
  console.log(
    `| ${r.label} | ${r.seconds.toFixed(1)} | ${(r.complete / r.seconds).toFixed(1)} | ${(r.chunks / r.seconds).toFixed(0)} | ${r.complete} | ${(r.busy.llamaparse * 100).toFixed(0)}% | ${(r.busy.embeddings * 100).toFixed(0)}% |`,
  );
}
console.log(
  `\norchestration ceiling: ${graphileTasks} no-op graphile-worker tasks in ${ceilingSeconds.toFixed(2)} s (${(graphileTasks / ceilingSeconds).toFixed(0)} tasks/s);`,
);
console.log(
  `the pipeline ran ${graphileTasks} tasks in ${fast.seconds.toFixed(1)} s (${(graphileTasks / fast.seconds).toFixed(0)} tasks/s): ${((ceilingSeconds / fast.seconds) * 100).toFixed(1)}% of the ceiling`,
);
console.log(
  `LlamaParse calls (zero latency): ${JSON.stringify(fast.llamaCalls)}; embedding requests: ${fast.embedRequests}`,
);
