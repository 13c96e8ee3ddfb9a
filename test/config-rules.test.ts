// Configuration rules that tie variables together (issue 14): a stale window shorter than three
// heartbeats would take a live worker that missed one beat for dead, so start-up refuses it.
import test from 'ava';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { sql } from 'slonik';
import { z } from 'zod';
import { createTestDatabase } from './helpers/database.ts';
import { cleanEnv, runTvdb } from './helpers/cli.ts';
import { startTvdbGroup, waitFor } from './helpers/processGroups.ts';

const workers = (pool: import('slonik').DatabasePool) =>
  pool.oneFirst(sql.type(z.object({ n: z.number() }))`select count(*)::int as n from worker_processes`);

test('TVDB_WORKER_STALE_S shorter than three heartbeats stops start-up (exit 78) naming the variable; three heartbeats start', async (t) => {
  const db = await createTestDatabase();
  t.teardown(() => db.drop());
  const refused = await runTvdb(
    ['worker'],
    cleanEnv({ DATABASE_URL: db.url, TVDB_HEARTBEAT_MS: '5000', TVDB_WORKER_STALE_S: '14' }),
    { timeoutMs: 30_000 },
  );
  t.is(refused.code, 78, refused.stderr);
  t.is(
    refused.stderr,
    'tvdb worker: invalid configuration:\n  TVDB_WORKER_STALE_S: must cover at least three heartbeats (3 x TVDB_HEARTBEAT_MS) (got "14")\n',
  );
  t.is(await workers(db.pool), 0, 'no worker started');

  // Raising only the heartbeat past a third of the default window (30 s) is refused too.
  const slowBeat = await runTvdb(['ingest', '--no-wait', '/nonexistent'], cleanEnv({ TVDB_HEARTBEAT_MS: '15000' }), {
    timeoutMs: 30_000,
  });
  t.is(slowBeat.code, 78, slowBeat.stderr);
  t.regex(slowBeat.stderr, /TVDB_WORKER_STALE_S: must cover at least three heartbeats \(3 x TVDB_HEARTBEAT_MS\)/);

  // Exactly three heartbeats: the worker starts and beats.
  const worker = startTvdbGroup(
    t,
    ['worker'],
    cleanEnv({
      DATABASE_URL: db.url,
      TVDB_HEARTBEAT_MS: '1000',
      TVDB_WORKER_STALE_S: '3',
      LOG_LEVEL: 'info',
    }),
  );
  await waitFor('the worker to heartbeat', async () => (await workers(db.pool)) === 1, 30_000);
  worker.signalGroup('SIGTERM');
  t.deepEqual(await worker.exited, { code: 0, signal: null });
});

// Found by this test (fixed): TVDB_PARSE_MEMORY_MB accepts 32 (its minimum) to 63, but the CPU threads that chunk a
// document need about 64 MB for the tokenizer alone: with such a value every document fails
// chunking ("exceeded 32 MB of memory while chunking"), however small. The schema's minimum should
// be a value that can chunk (measured: 48 MB fails, 64 MB works), or start-up should say so.
test('a TVDB_PARSE_MEMORY_MB too small to chunk any document is refused at start-up', async (t) => {
  const db = await createTestDatabase();
  t.teardown(() => db.drop());
  const dir = mkdtempSync(path.join(tmpdir(), 'tvdb-memory-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(path.join(dir, 'note.md'), '# Note\n\nThree short sentences. Nothing more. The end.\n');
  const result = await runTvdb(
    ['ingest', dir],
    cleanEnv({ DATABASE_URL: db.url, TVDB_PARSE_MEMORY_MB: '32', TVDB_POLL_INTERVAL_MS: '200' }),
    { timeoutMs: 90_000 },
  );
  t.true(
    result.code === 78 || result.code === 0,
    `exit ${result.code}: refused at start-up, or the document completes\n${result.stdout.slice(-600)}`,
  );
});
