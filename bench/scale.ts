// npm run bench:scale: generated documents through 1, 2 and 4 worker processes (`tvdb worker`,
// each with the default concurrency) on one database, the emulators at zero latency and the
// providers' limits lifted. Per run: documents per second, the database's size per document
// (tables and indexes), and the monitoring views' latency at the end (median of 3). The seconds
// run from the first document a worker picks up to the last one finished (process start-up and
// intake excluded; the wall time with start-up is printed beside them).
// BENCH_DOCS (10000), BENCH_WORKERS ("1,2,4").
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { availableParallelism } from 'node:os';
import { sql } from 'slonik';
import { z } from 'zod';
import { scratchDatabase } from './harness.ts';
import { createDatabasePool } from '../lib/db/database.ts';
import { loadConfig } from '../lib/config.ts';
import { createLogger } from '../lib/log.ts';
import { buildDeps } from '../worker/buildDeps.ts';
import { intakePolicy } from '../lib/intake/intakePolicy.ts';
import { ingestDocument } from '../lib/intake/ingestDocument.ts';
import { LlamaParseEmulator } from '../emulators/llamaparse/index.ts';
import { EmbeddingEmulator } from '../emulators/embeddings.ts';
import { pointAt } from '../emulators/pointAt.ts';
import { loadSnapshot } from '../lib/status/snapshot.ts';
import { createMetrics } from '../lib/metrics/prometheus.ts';
import { writtenSql } from '../lib/db/writtenSql.ts';
import { TERMINAL_STATES } from '../lib/jobs/stages.ts';

const DOCS = Number(process.env.BENCH_DOCS ?? 10_000);
const WORKERS = (process.env.BENCH_WORKERS ?? '1,2,4').split(',').map(Number);
const LIFTED = { LLAMAPARSE_UPLOADS_PER_10S: '1000000', EMBEDDINGS_RPM: '100000000', EMBEDDINGS_TPM: '1000000000' };
const VIEWS = ['pipeline_health', 'stage_latency', 'stuck_jobs', 'failure_summary', 'queue_depth', 'cost_summary'];

const document = (i: number) => {
  let seed = 1 + i;
  const word = () => ((seed = (seed * 48271) % 2147483647), seed.toString(36).slice(0, 3 + (seed % 7)));
  return Buffer.from(
    `# Document ${i}\n\n` +
      Array.from({ length: 6 + (i % 5) }, () => Array.from({ length: 120 }, word).join(' ') + '.').join('\n\n'),
  );
};

async function median3(run: () => Promise<unknown>) {
  const ms: number[] = [];
  for (let i = 0; i < 3; i++) {
    const started = performance.now();
    await run();
    ms.push(performance.now() - started);
  }
  return ms.sort((a, b) => a - b)[1]!;
}

async function scaleRun(processes: number) {
  const db = await scratchDatabase();
  const llama = new LlamaParseEmulator({ startDelayMs: 0, perPageDelayMs: 0 });
  const embeddings = new EmbeddingEmulator({ latencyMs: 0 });
  await Promise.all([llama.start(), embeddings.start()]);
  const pool = await createDatabasePool(db.url, 8);
  const children: ChildProcess[] = [];
  try {
    const env = { DATABASE_URL: db.url, ...pointAt({ llamaparse: llama, embeddings }, 256), ...LIFTED };
    const deps = buildDeps(loadConfig(env), pool, createLogger('error'));
    const policy = intakePolicy(deps);
    const ingestStarted = performance.now();
    let next = 0;
    await Promise.all(
      Array.from({ length: 4 }, async () => {
        for (let i = next++; i < DOCS; i = next++)
          await ingestDocument(pool, { bytes: document(i), fileName: `doc-${i}.md` }, policy);
      }),
    );
    const ingestSeconds = (performance.now() - ingestStarted) / 1000;
    await deps.cpu.close();
    const started = performance.now();
    for (let p = 0; p < processes; p++)
      children.push(
        spawn(process.execPath, ['bin/tvdb.js', 'worker'], {
          env: { ...process.env, ...env, LOG_LEVEL: 'error', TVDB_POLL_INTERVAL_MS: '200' },
          stdio: ['ignore', 'ignore', 'inherit'],
        }),
      );
    let done = 0;
    while (done < DOCS) {
      await new Promise((r) => setTimeout(r, 500));
      done = Number(
        await pool.oneFirst(
          sql.unsafe`select count(*)::int from jobs where state::text = any(${sql.array([...TERMINAL_STATES], 'text')})`,
        ),
      );
    }
    const wall = (performance.now() - started) / 1000;
    // From the first document a worker picked up to the last that finished (process start-up excluded).
    const seconds = Number(
      await pool.oneFirst(sql.unsafe`
        select extract(epoch from max(at) - min(at))::float8 from job_events
        where kind = 'transition' and (from_state = 'parse_queued' or to_state::text = any(${sql.array([...TERMINAL_STATES], 'text')}))`),
    );
    for (const child of children) child.kill('SIGTERM');
    await Promise.all(children.map((c) => (c.exitCode === null ? once(c, 'exit') : undefined)));
    const counts = await pool.one(sql.type(z.object({ complete: z.number(), chunks: z.number() }))`
      select (select count(*) from jobs where state = 'complete')::int as complete, (select count(*) from chunks)::int as chunks`);
    const size = await pool.one(sql.type(z.object({ tables: z.number(), indexes: z.number() }))`
      select coalesce(sum(pg_table_size(c.oid)), 0)::float8 as tables, coalesce(sum(pg_indexes_size(c.oid)), 0)::float8 as indexes
      from pg_class c join pg_namespace n on n.oid = c.relnamespace
      where c.relkind in ('r', 'p', 'm') and n.nspname in ('public', 'graphile_worker')`);
    const biggest = await pool.any(sql.type(z.object({ name: z.string(), bytes: z.number() }))`
      select c.relname as name, pg_total_relation_size(c.oid)::float8 as bytes
      from pg_class c join pg_namespace n on n.oid = c.relnamespace
      where c.relkind = 'r' and n.nspname = 'public' order by 2 desc limit 4`);
    const views: Array<[string, number]> = [];
    for (const view of VIEWS) views.push([view, await median3(() => pool.query(writtenSql(`select * from ${view}`)))]);
    views.push(['status snapshot', await median3(() => loadSnapshot(pool))]);
    const metrics = createMetrics(pool);
    views.push(['/metrics', await median3(() => metrics.render())]);
    return { processes, seconds, wall, ingestSeconds, ...counts, size, biggest, views };
  } finally {
    for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
    await pool.end();
    await Promise.all([llama.stop(), embeddings.stop()]);
    await db.drop();
  }
}

const results = [];
for (const processes of WORKERS) results.push(await scaleRun(processes));
const concurrency = loadConfig({}).TVDB_WORKER_CONCURRENCY;
console.log(
  `\nbench:scale, ${DOCS} generated Markdown documents, worker processes of concurrency ${concurrency}, ${availableParallelism()} cores, emulators at zero latency (limits lifted)\n`,
);
console.log(
  '| worker processes | seconds (wall) | docs/s | chunks/s | complete | database per document (tables + indexes) | biggest tables |\n|---|---|---|---|---|---|---|',
);
const kb = (bytes: number) => `${(bytes / 1024).toFixed(1)} KB`;
for (const r of results)
  console.log(
    `| ${r.processes} | ${r.seconds.toFixed(1)} (${r.wall.toFixed(1)}) | ${(r.complete / r.seconds).toFixed(1)} | ${(r.chunks / r.seconds).toFixed(0)} | ${r.complete} | ${kb((r.size.tables + r.size.indexes) / DOCS)} (${kb(r.size.tables / DOCS)} + ${kb(r.size.indexes / DOCS)}) | ${r.biggest.map((b) => `${b.name} ${kb(b.bytes / DOCS)}`).join(', ')} |`,
  );
console.log(`\nmonitoring at the end (ms, median of 3), with ${DOCS} jobs in the tables:\n`);
console.log(`| query | ${results.map((r) => `${r.processes} process(es)`).join(' | ')} |`);
console.log(`|---|${results.map(() => '---').join('|')}|`);
for (const [i, [name]] of results[0]!.views.entries())
  console.log(`| ${name} | ${results.map((r) => r.views[i]![1].toFixed(1)).join(' | ')} |`);
