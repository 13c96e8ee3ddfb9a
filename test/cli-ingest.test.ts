import test from 'ava';
import { chmodSync, mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { sql } from 'slonik';
import { z } from 'zod';
import { createTestDatabase, type TestDatabase } from './helpers/database.ts';
import { cleanEnv, embeddedRunning, freePort, isListening, runTvdb, PROJECT_DIR } from './helpers/cli.ts';
import { startTvdb } from './helpers/processes.ts';
import { waitForTerminal } from './helpers/pipeline.ts';
import { minimalPdf, wrap } from '../lib/documents/minimalPdf.ts';

let db: TestDatabase;
let dir: string;
test.before(async () => {
  db = await createTestDatabase();
  dir = mkdtempSync(path.join(tmpdir(), 'tvdb-ingest-'));
  mkdirSync(path.join(dir, 'docs'));
  writeFileSync(path.join(dir, 'docs', 'one.md'), '# One\n\nThe first document talks about harbours and tides.');
  writeFileSync(
    path.join(dir, 'docs', 'two.pdf'),
    minimalPdf([wrap('The second document is a PDF about mountain huts.')]),
  );
  writeFileSync(path.join(dir, 'docs', 'empty.txt'), '');
  writeFileSync(
    path.join(dir, 'docs', 'photo.png'),
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 1, 2, 3]),
  );
});
test.after.always(async () => {
  await db?.drop();
  rmSync(dir, { recursive: true, force: true });
});

test.serial(
  'tvdb ingest takes a folder in, refuses what it cannot read with the reason, follows the rest to complete',
  async (t) => {
    const result = await runTvdb(
      ['ingest', path.join(dir, 'docs'), path.join(dir, 'missing.txt')],
      cleanEnv({ DATABASE_URL: db.url }),
    );
    t.is(result.code, 1, 'refusals make the exit code non-zero');
    t.regex(result.stdout, /refused\s+\S*empty\.txt: the file is empty/);
    t.regex(
      result.stdout,
      /refused\s+\S*photo\.png: unsupported type: the local parser cannot read images \(image\/png\)/,
    );
    t.regex(result.stdout, /refused\s+\S*missing\.txt: no such file or folder/);
    t.regex(result.stdout, /one\.md: complete/);
    t.regex(result.stdout, /two\.pdf: complete/);
    t.regex(result.stdout, /2 complete, 0 failed, 3 refused/);
  },
);

test.serial('all accepted and complete: exit code 0; --json reports every job', async (t) => {
  const file = path.join(dir, 'ok.md');
  writeFileSync(file, '# OK\n\nA fine document about kites.');
  const result = await runTvdb(['ingest', file, '--json'], cleanEnv({ DATABASE_URL: db.url }));
  t.is(result.code, 0, result.stderr);
  const report = JSON.parse(result.stdout) as { jobs: Array<{ state: string }> };
  t.deepEqual(
    report.jobs.map((j) => j.state),
    ['complete'],
  );
});

test.serial('--no-wait only submits; a tvdb worker process elsewhere finishes the job', async (t) => {
  const file = path.join(dir, 'later.md');
  writeFileSync(file, '# Later\n\nProcessed by a separate worker process.');
  const env = cleanEnv({ DATABASE_URL: db.url });
  const submitted = await runTvdb(['ingest', '--no-wait', '--json', file], env);
  t.is(submitted.code, 0, submitted.stderr);
  const jobId = (JSON.parse(submitted.stdout) as { results: Array<{ jobId: string }> }).results[0]!.jobId;
  const state = await db.pool.oneFirst(
    sql.type(z.object({ s: z.string() }))`select state::text as s from jobs where id = ${jobId}::uuid`,
  );
  t.is(state, 'parse_queued');
  const worker = startTvdb(['worker'], env);
  t.teardown(() => worker.stop());
  const states = await waitForTerminal(db.pool, [jobId], 60_000);
  t.is(states[jobId]!.state, 'complete');
  t.is(await worker.stop('SIGTERM'), 0);
});

test.serial(
  'two worker processes on one database: every job completes, no move happens twice, no duplicate rows',
  async (t) => {
    const many = path.join(dir, 'many');
    mkdirSync(many);
    for (let i = 0; i < 24; i++) {
      writeFileSync(
        path.join(many, `doc-${i}.md`),
        `# Document ${i}\n\n${`Paragraph about topic ${i} and shared words. `.repeat(40 + i)}`,
      );
    }
    const env = cleanEnv({ DATABASE_URL: db.url, TVDB_WORKER_CONCURRENCY: '3', TVDB_POLL_INTERVAL_MS: '200' });
    const workers = [startTvdb(['worker'], env), startTvdb(['worker'], env)];
    t.teardown(() => Promise.all(workers.map((w) => w.stop())));
    const submitted = await runTvdb(['ingest', '--no-wait', '--json', many], env);
    const ids = (JSON.parse(submitted.stdout) as { results: Array<{ jobId: string }> }).results.map((r) => r.jobId);
    t.is(ids.length, 24);
    const states = await waitForTerminal(db.pool, ids, 90_000);
    t.true(Object.values(states).every((s) => s.state === 'complete'));
    const repeatedMoves = await db.pool.oneFirst(sql.type(z.object({ n: z.number() }))`
    select count(*)::int as n from (
      select job_id, to_state from job_events where job_id = any(${sql.array(ids, 'uuid')}) and kind <> 'note'
      group by job_id, to_state having count(*) > 1) d`);
    t.is(repeatedMoves, 0);
    const vectors = await db.pool.one(sql.type(z.object({ rows: z.number(), distinct: z.number() }))`
    select count(*)::int as rows, count(distinct (content_sha256, model, dimensions))::int as distinct from embeddings`);
    t.is(vectors.rows, vectors.distinct);
    const codes = await Promise.all(workers.map((w) => w.stop('SIGTERM')));
    t.deepEqual(codes, [0, 0]);
  },
);

test('the main job (npm start) runs on the embedded default with no configuration', async (t) => {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'tvdb-demo-'));
  const port = await freePort();
  t.teardown(() => rmSync(dataDir, { recursive: true, force: true }));
  const result = await runTvdb(['demo'], cleanEnv({ TVDB_DATA_DIR: dataDir, TVDB_EMBEDDED_PORT: String(port) }), {
    cwd: PROJECT_DIR,
  });
  t.is(result.code, 0, result.stdout + result.stderr);
  t.regex(result.stdout, /summary: 3\/3 documents complete, \d+ chunks, \d+ vectors/);
  t.regex(result.stdout, /example search: .*\n1\. [\d.]+\s+samples\/state-machine\.html/);
  t.false(embeddedRunning(dataDir) || (await isListening(port)), 'the embedded server stopped');
});

test('SIGINT during tvdb ingest stops the workers, keeps the jobs queued, and exits', async (t) => {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'tvdb-sigint-'));
  chmodSync(dataDir, 0o755); // the embedded server may run as the postgres user
  const port = await freePort();
  t.teardown(() => rmSync(dataDir, { recursive: true, force: true }));
  const big = path.join(dataDir, 'big.txt');
  // Varied words, so chunking takes seconds (repeated text tokenizes too fast to interrupt).
  let seed = 7;
  const word = () => ((seed = (seed * 48271) % 2147483647), seed.toString(36).slice(0, 3 + (seed % 6)));
  writeFileSync(big, Array.from({ length: 400_000 }, (_, i) => (i % 15 === 14 ? `${word()}.` : word())).join(' '));
  const proc = startTvdb(
    ['ingest', big],
    cleanEnv({ TVDB_DATA_DIR: path.join(dataDir, 'db'), TVDB_EMBEDDED_PORT: String(port) }),
  );
  const { waitForOutput } = await import('./helpers/processes.ts');
  await waitForOutput(proc, /processing 1 document/, 60_000);
  const code = await proc.stop('SIGINT');
  t.is(code, 1);
  t.regex(proc.output(), /interrupted: unfinished jobs stay queued|complete/);
  t.false(embeddedRunning(path.join(dataDir, 'db')) || (await isListening(port)), 'the embedded server stopped');
});
