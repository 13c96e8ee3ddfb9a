// npm run bench:handoff: how long a LlamaParse webhook takes to become work. Documents go through
// the real pipeline with LlamaParse in webhook mode: the LlamaParse emulator calls `tvdb serve
// --no-workers` (a child process) back, and a worker (in this process) picks up the collect task.
// Handoff = from the delivery's row (webhook_deliveries.received_at: the transaction that recorded
// it) to graphile-worker starting job__parse_collect for that job (its job:start event); both read
// the same system clock. Reported as p50/p99 over the documents, beside the worker's load.
// Two runs: documents arriving at LlamaParse's documented upload rate (5 a second: the worker has
// room), and all at once (the collect tasks compete with a queue of stage tasks for the slots).
// BENCH_DOCS (100), BENCH_CONCURRENCY (the worker default).
import { spawn } from 'node:child_process';
import { sql } from 'slonik';
import { z } from 'zod';
import { scratchDatabase, percentile } from './harness.ts';
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
import { waitForTerminal } from '../lib/jobs/waitForTerminal.ts';
import { freePort } from '../lib/http/freePort.ts';

const DOCS = Number(process.env.BENCH_DOCS ?? 100);
const SECRET = 'whsec-handoff-bench';

async function handoffRun(label: string, paceMs: number) {
  const db = await scratchDatabase();
  const llama = new LlamaParseEmulator({ startDelayMs: 300, perPageDelayMs: 100 });
  const embeddings = new EmbeddingEmulator({ latencyMs: 20 });
  await Promise.all([llama.start(), embeddings.start()]);
  const port = await freePort();
  const server = spawn(process.execPath, ['bin/tvdb.js', 'serve', '--no-workers'], {
    env: {
      ...process.env,
      DATABASE_URL: db.url,
      LLAMAPARSE_WEBHOOK_SECRET: SECRET,
      PORT: String(port),
      LOG_LEVEL: 'error',
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  await new Promise<void>((resolve, reject) => {
    server.stdout!.on('data', (d) => String(d).includes('listening') && resolve());
    server.on('exit', (code) => reject(new Error(`tvdb serve exited ${code}`)));
  });
  const pool = await createDatabasePool(db.url, 8);
  try {
    const config = loadConfig({
      DATABASE_URL: db.url,
      ...pointAt({ llamaparse: llama, embeddings }, 256),
      PUBLIC_BASE_URL: `http://127.0.0.1:${port}`,
      LLAMAPARSE_WEBHOOK_SECRET: SECRET,
      ...(process.env.BENCH_CONCURRENCY ? { TVDB_WORKER_CONCURRENCY: process.env.BENCH_CONCURRENCY } : {}),
    });
    const deps = buildDeps(config, pool, createLogger('error'));
    const starts = new Map<string, number[]>();
    const workers = await startWorkers(deps, db.url);
    workers.runner.events.on('job:start', ({ job }) => {
      if (job.task_identifier !== 'job__parse_collect') return;
      const jobId = (job.payload as { jobId?: string }).jobId;
      if (jobId) starts.set(jobId, [...(starts.get(jobId) ?? []), Date.now()]);
    });
    const ids: string[] = [];
    const started = performance.now();
    for (let i = 0; i < DOCS; i++) {
      const bytes = Buffer.from(`# Handoff ${i}\n\n${'Some words for the handoff benchmark. '.repeat(40 + (i % 7))}`);
      const r = await ingestDocument(pool, { bytes, fileName: `handoff-${i}.md` }, intakePolicy(deps));
      if (r.ok) ids.push(r.jobId);
      if (paceMs) await new Promise((resolve) => setTimeout(resolve, paceMs));
    }
    await waitForTerminal(pool, ids, 600_000);
    const seconds = (performance.now() - started) / 1000;
    await workers.stop();
    await deps.cpu.close();
    const delivered = await pool.any(sql.type(z.object({ job_id: z.string(), at: z.number() }))`
    select job_id::text, (extract(epoch from min(received_at)) * 1000)::float8 as at
    from webhook_deliveries
    where event_type in ('parse.success', 'parse.error', 'parse.partial_success')
    group by job_id`);
    const handoffs: number[] = [];
    for (const d of delivered) {
      const first = (starts.get(d.job_id) ?? []).find((t) => t >= d.at - 1);
      if (first !== undefined) handoffs.push(Math.max(0, first - d.at));
    }
    handoffs.sort((a, b) => a - b);
    if (process.env.BENCH_DEBUG)
      for (const d of delivered.slice(0, 10))
        console.log(
          d.job_id.slice(0, 8),
          (starts.get(d.job_id) ?? []).map((t) => Math.round(t - d.at)),
        );
    const complete = Number(await pool.oneFirst(sql.unsafe`select count(*)::int from jobs where state = 'complete'`));
    return {
      label,
      concurrency: config.TVDB_WORKER_CONCURRENCY,
      measured: handoffs.length,
      p50: percentile(handoffs, 50),
      p99: percentile(handoffs, 99),
      max: handoffs.at(-1) ?? NaN,
      complete,
      seconds,
      webhooks: llama.stats.webhookDeliveries,
    };
  } finally {
    server.kill('SIGTERM');
    await pool.end();
    await Promise.all([llama.stop(), embeddings.stop()]);
    await db.drop();
  }
}

const runs = [
  await handoffRun('documents arriving 5 a second (the upload limit)', 200),
  await handoffRun('all documents at once', 0),
];
console.log(
  `\nbench:handoff, ${DOCS} documents through LlamaParse (emulator, webhook mode), worker concurrency ${runs[0]!.concurrency}\n`,
);
console.log(
  '| run | deliveries measured | p50 ms | p99 ms | max ms | complete | seconds |\n|---|---|---|---|---|---|---|',
);
for (const r of runs)
  console.log(
    `| ${r.label} | ${r.measured} | ${r.p50.toFixed(1)} | ${r.p99.toFixed(1)} | ${r.max.toFixed(1)} | ${r.complete} | ${r.seconds.toFixed(1)} |`,
  );
console.log(
  "\nhandoff: webhook_deliveries.received_at of the job's final event -> job__parse_collect started (graphile-worker job:start)",
);
