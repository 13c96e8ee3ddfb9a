// npm run bench:pipeline. (1) Documents and chunks per second through the whole pipeline with the
// LlamaParse and embeddings emulators at zero latency and the providers' rate limits lifted (what
// orchestration costs), against graphile-worker running the same number of no-op tasks on the
// same database (the orchestration ceiling). (2) The same at the documented limits. (3) With the
// emulators at realistic latency and the documented limits, how busy the pipeline keeps the
// external APIs. Each run names its bottleneck: CPU of this process (all threads) and of
// PostgreSQL, the event loop's utilisation, and how often each limiter deferred work.
// BENCH_DOCS (200), BENCH_CONCURRENCY (the worker default), BENCH_RUNS (e.g. "lifted").
import { run, type Task } from 'graphile-worker';
import { sql } from 'slonik';
import { z } from 'zod';
import { availableParallelism } from 'node:os';
import { scratchDatabase } from './harness.ts';
import { cores, startCpuMeter } from './cpu.ts';
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
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? loadConfig({}).TVDB_WORKER_CONCURRENCY);
const RUNS = (process.env.BENCH_RUNS ?? 'lifted,documented,realistic').split(',');
/** Provider limits high enough never to bind. */
const LIFTED = { LLAMAPARSE_UPLOADS_PER_10S: '1000000', EMBEDDINGS_RPM: '100000000', EMBEDDINGS_TPM: '1000000000' };

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
  limits: Record<string, string> = {},
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
      ...limits,
    });
    const deps = buildDeps(config, pool, createLogger('error'));
    const ids: string[] = [];
    for (let i = 0; i < DOCS; i++) {
      const r = await ingestDocument(pool, { bytes: document(i), fileName: `doc-${i}.md` }, intakePolicy(deps));
      if (r.ok) ids.push(r.jobId);
    }
    const busy = trackBusy(llama, embeddings);
    const started = performance.now();
    const meter = startCpuMeter(db.postgresPid);
    const runner = await startWorkers(deps, db.url);
    await waitForTerminal(pool, ids, 600_000);
    const seconds = (performance.now() - started) / 1000;
    const cpu = meter();
    busy.stop();
    await runner.stop();
    await deps.cpu.close();
    const deferrals = await pool.any(sql.type(z.object({ reason: z.string(), n: z.number() }))`
      select labels->>'reason' as reason, sum(count)::int as n from metric_series
      where name = 'tvdb_task_deferrals_total' group by 1 order by 1`);
    const stats = await pool.one(sql.type(z.object({ complete: z.number(), chunks: z.number(), tasks: z.number() }))`
      select (select count(*) from jobs where state = 'complete')::int as complete,
             (select count(*) from chunks)::int as chunks,
             (select count(*) from job_events where kind = 'transition')::int as tasks`);
    return {
      label,
      seconds,
      cpu,
      deferrals: deferrals.map((d) => `${d.reason} ${d.n}`).join(', ') || 'none',
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
// requests in flight (sampled every 10 ms). LlamaParse's share is also given over its own span,
// from the first upload to the last job's end (the run's start-up and its chunk/embed tail are
// not LlamaParse's to be busy in), with the upload rate over that span.
function trackBusy(llama: LlamaParseEmulator, embeddings: EmbeddingEmulator) {
  const samples: Array<{ at: number; llama: boolean; embed: boolean; uploads: number }> = [];
  let lastEmbed = embeddings.stats.requests;
  const timer = setInterval(() => {
    samples.push({
      at: performance.now(),
      llama: [...llama.jobs.values()].some((j) => j.status === 'PENDING' || j.status === 'RUNNING'),
      embed: embeddings.stats.requests !== lastEmbed,
      uploads: llama.stats.uploads,
    });
    lastEmbed = embeddings.stats.requests;
  }, 10);
  return {
    stop: () => clearInterval(timer),
    result: () => {
      const share = (list: typeof samples, key: 'llama' | 'embed') =>
        list.filter((x) => x[key]).length / Math.max(1, list.length);
      const first = samples.findIndex((x) => x.uploads > 0);
      const last = samples.findLastIndex((x) => x.llama);
      const span = first >= 0 && last >= first ? samples.slice(first, last + 1) : [];
      const spanS = span.length ? (span.at(-1)!.at - span[0]!.at) / 1000 : NaN;
      return {
        llamaparse: share(samples, 'llama'),
        embeddings: share(samples, 'embed'),
        llamaparseInSpan: share(span, 'llama'),
        spanS,
        uploadsPerS: llama.stats.uploads / spanS,
      };
    },
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

const zero = { llamaDelayMs: 0, perPageMs: 0, embedLatencyMs: 0 };
const runs = [];
let ceiling: { tasks: number; seconds: number; pipelineSeconds: number } | undefined;
if (RUNS.includes('lifted')) {
  const fast = await pipelineRun('zero latency, limits lifted', zero, LIFTED);
  const tasks = Object.values(fast.llamaCalls).reduce((a, b) => a + b, 0) - DOCS + 3 * DOCS; // uploads+polls (collect tasks) + parse/chunk/embed
  ceiling = { tasks, seconds: await noopCeiling(fast.db.url, tasks), pipelineSeconds: fast.seconds };
  await fast.db.drop();
  runs.push(fast);
}
if (RUNS.includes('documented')) {
  const r = await pipelineRun('zero latency, documented limits', zero);
  await r.db.drop();
  runs.push(r);
}
if (RUNS.includes('realistic')) {
  const r = await pipelineRun('realistic latency, documented limits', {
    llamaDelayMs: 1500,
    perPageMs: 300,
    embedLatencyMs: 200,
  });
  await r.db.drop();
  runs.push(r);
}

console.log(
  `\nbench:pipeline, ${DOCS} generated Markdown documents (~1-2 pages), worker concurrency ${CONCURRENCY}, one process, ${availableParallelism()} cores\n`,
);
console.log(
  '| run | seconds | docs/s | chunks/s | complete | LlamaParse busy (over its span: first upload to last job end; uploads/s) | embeddings busy | Node CPU | PostgreSQL CPU | CPU ms/doc (Node + PostgreSQL) | event loop | deferred |\n|---|---|---|---|---|---|---|---|---|---|---|---|',
);
for (const r of runs) {
  console.log(
    `| ${r.label} | ${r.seconds.toFixed(1)} | ${(r.complete / r.seconds).toFixed(1)} | ${(r.chunks / r.seconds).toFixed(0)} | ${r.complete} | ${(r.busy.llamaparse * 100).toFixed(0)}% (${(r.busy.llamaparseInSpan * 100).toFixed(0)}% of ${r.busy.spanS.toFixed(1)} s; ${r.busy.uploadsPerS.toFixed(1)}/s) | ${(r.busy.embeddings * 100).toFixed(0)}% | ${cores(r.cpu.nodeCpuS, r.cpu.seconds)} | ${cores(r.cpu.postgresCpuS, r.cpu.seconds)} | ${((r.cpu.nodeCpuS / r.complete) * 1000).toFixed(0)} + ${((r.cpu.postgresCpuS / r.complete) * 1000).toFixed(0)} | ${(r.cpu.eventLoop * 100).toFixed(0)}% | ${r.deferrals} |`,
  );
}
console.log(
  "\nNode CPU: this process, all threads; it includes the two emulators, which run here. Event loop: the main thread's utilisation. Deferred: tasks re-queued by a limiter, by reason.",
);
if (ceiling) {
  console.log(
    `\norchestration ceiling: ${ceiling.tasks} no-op graphile-worker tasks in ${ceiling.seconds.toFixed(2)} s (${(ceiling.tasks / ceiling.seconds).toFixed(0)} tasks/s);`,
  );
  console.log(
    `the pipeline (limits lifted) ran ${ceiling.tasks} tasks in ${ceiling.pipelineSeconds.toFixed(1)} s (${(ceiling.tasks / ceiling.pipelineSeconds).toFixed(0)} tasks/s): ${((ceiling.seconds / ceiling.pipelineSeconds) * 100).toFixed(1)}% of the ceiling`,
  );
}
for (const r of runs)
  console.log(`${r.label}: LlamaParse calls ${JSON.stringify(r.llamaCalls)}; embedding requests: ${r.embedRequests}`);
