// Real processes, real signals: worker processes are SIGKILLed while they hold jobs; survivors
// must pick those jobs up (graphile-worker alone waits 4 hours) and the result must be as if
// nothing had happened.
import test from 'ava';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { sql } from 'slonik';
import { z } from 'zod';
import { createTestDatabase } from './helpers/database.ts';
import { cleanEnv, runTvdb } from './helpers/cli.ts';
import { startTvdb, type TvdbProcess } from './helpers/processes.ts';
import { waitForTerminal } from './helpers/pipeline.ts';
import { HAPPY_PATH } from '../lib/jobs/stages.ts';

test('SIGKILLed workers: their jobs run again on survivors within a minute, and every job completes once', async (t) => {
  const db = await createTestDatabase({ poolSize: 4 });
  const dir = mkdtempSync(path.join(tmpdir(), 'tvdb-kill-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  let seed = 11;
  const word = () => ((seed = (seed * 48271) % 2147483647), seed.toString(36).slice(0, 3 + (seed % 6)));
  for (let i = 0; i < 10; i++) {
    // ~150 kB of varied text: chunking takes a second or more, so kills land mid-task.
    writeFileSync(
      path.join(dir, `doc-${i}.txt`),
      Array.from({ length: 25_000 }, (_, k) => (k % 12 === 11 ? `${word()}.` : word())).join(' '),
    );
  }
  const env = cleanEnv({
    DATABASE_URL: db.url,
    TVDB_WORKER_CONCURRENCY: '2',
    TVDB_POLL_INTERVAL_MS: '200',
    TVDB_HEARTBEAT_MS: '1000',
    TVDB_WORKER_STALE_S: '5',
  });
  const workers: TvdbProcess[] = [startTvdb(['worker'], env), startTvdb(['worker'], env), startTvdb(['worker'], env)];
  t.teardown(() => Promise.all(workers.map((w) => w.stop('SIGKILL'))));
  const submitted = await runTvdb(['ingest', '--no-wait', '--json', dir], env);
  const ids = (JSON.parse(submitted.stdout) as { results: Array<{ jobId: string }> }).results.map((r) => r.jobId);
  t.is(ids.length, 10);

  const lockedBy = () =>
    db.pool.any(sql.type(z.object({ pid: z.number(), pool_id: z.string(), locked: z.number() }))`
    select w.pid, w.pool_id, count(g.id)::int as locked
    from worker_processes w join graphile_worker._private_jobs g on g.locked_by = w.pool_id group by w.pid, w.pool_id`);
  const recoveries: number[] = [];
  for (let kill = 0; kill < 4; kill++) {
    let victim: { pid: number; pool_id: string } | undefined;
    for (let i = 0; i < 100 && !victim; i++) {
      victim = (await lockedBy()).find((r) => workers.some((w) => w.child.pid === r.pid && w.child.exitCode === null));
      if (!victim) await new Promise((r) => setTimeout(r, 50));
    }
    if (!victim) break; // nothing left in flight
    const proc = workers.find((w) => w.child.pid === victim!.pid)!;
    const killedAt = Date.now();
    proc.child.kill('SIGKILL');
    await proc.exited;
    workers.push(startTvdb(['worker'], env));
    // Recovered when no job is locked by the dead pool any more (picked up again, or finished).
    for (;;) {
      const held = await db.pool.oneFirst(sql.type(z.object({ n: z.number() }))`
        select count(*)::int as n from graphile_worker._private_jobs where locked_by = ${victim.pool_id}`);
      if (held === 0) break;
      if (Date.now() - killedAt > 60_000) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    recoveries.push((Date.now() - killedAt) / 1000);
  }
  const states = await waitForTerminal(db.pool, ids, 180_000);
  t.true(
    Object.values(states).every((s) => s.state === 'complete'),
    JSON.stringify(Object.values(states).map((s) => s.state)),
  );
  for (const id of ids) {
    const trail = await db.pool.anyFirst(sql.type(z.object({ s: z.string() }))`
      select to_state::text as s from job_events where job_id = ${id}::uuid and kind <> 'note' order by id`);
    t.deepEqual(trail, [...HAPPY_PATH], 'no move recorded twice');
  }
  const gaps = await db.pool.oneFirst(sql.type(z.object({ n: z.number() }))`
    select count(*)::int as n from (select job_id, count(*) as c, max(ordinal) as m from chunks group by job_id) x where c <> m + 1`);
  t.is(gaps, 0, 'each job has exactly its chunks 0..n-1');
  const unembedded = await db.pool.oneFirst(sql.type(z.object({ n: z.number() }))`
    select count(*)::int as n from chunks c where not exists (select 1 from embeddings e where e.content_sha256 = c.content_sha256)`);
  t.is(unembedded, 0);
  t.true(recoveries.length >= 2, `kills landed on busy workers: ${recoveries.length}`);
  t.true(
    recoveries.every((s) => s < 60),
    `recovery after SIGKILL within 60 s: ${recoveries.join(', ')}`,
  );
  const sorted = [...recoveries].sort((a, b) => a - b);
  t.log(
    `recovery after SIGKILL (s): median ${sorted[Math.floor(sorted.length / 2)]!.toFixed(1)}, worst ${sorted.at(-1)!.toFixed(1)} over ${sorted.length} kills (stale after 5 s, heartbeat 1 s)`,
  );
});

test('a stranded job (its task lost) shows in stuck_jobs and is re-enqueued and completed by the reconciler', async (t) => {
  const { testPipeline, ingest } = await import('./helpers/pipeline.ts');
  const db = await createTestDatabase();
  t.teardown(() => db.drop());
  const pipeline = testPipeline(db, { TVDB_HEARTBEAT_MS: '500' });
  const [result] = await ingest(pipeline.deps, [
    { name: 'lost.md', bytes: Buffer.from('# Lost\n\nA document whose task was lost.') },
  ]);
  if (!result?.ok) return t.fail();
  // Lose the task, and age the job past the stuck threshold.
  await db.pool.query(sql.unsafe`delete from graphile_worker._private_jobs where key = ${'parse:' + result.jobId}`);
  await db.ownerPool.query(sql.unsafe`alter table jobs disable trigger _100_check_transition`);
  await db.ownerPool.query(
    sql.unsafe`update jobs set state_changed_at = now() - interval '10 minutes' where id = ${result.jobId}::uuid`,
  );
  await db.ownerPool.query(sql.unsafe`alter table jobs enable trigger _100_check_transition`);
  const stuck = await db.pool.anyFirst(
    sql.type(z.object({ id: z.string() }))`select job_id::text as id from stuck_jobs`,
  );
  t.deepEqual(stuck, [result.jobId]);
  await pipeline.start();
  t.teardown(() => pipeline.stop());
  const states = await waitForTerminal(db.pool, [result.jobId], 30_000);
  t.is(states[result.jobId]!.state, 'complete');
  const note = await db.pool.oneFirst(sql.type(z.object({ a: z.string() }))`
    select detail ->> 'action' as a from job_events where job_id = ${result.jobId}::uuid and detail ->> 'event' = 'reconciled'`);
  t.is(note, 're-enqueued job__parse');
});

test('Postgres restarted under load: worker processes reconnect by themselves and nothing is lost', async (t) => {
  const { ownPostgres } = await import('./helpers/embeddedPostgres.ts');
  const { createDatabasePool } = await import('../lib/db/database.ts');
  const postgres = await ownPostgres(t, 'tvdb-restart-');
  const url = postgres.url;
  const docs = path.join(postgres.dataDir, 'docs');
  const { mkdirSync } = await import('node:fs');
  mkdirSync(docs);
  let seed = 5;
  const word = () => ((seed = (seed * 48271) % 2147483647), seed.toString(36).slice(0, 3 + (seed % 6)));
  for (let i = 0; i < 12; i++)
    writeFileSync(
      path.join(docs, `d${i}.txt`),
      Array.from({ length: 8000 }, (_, k) => (k % 10 === 9 ? `${word()}.` : word())).join(' '),
    );
  const env = cleanEnv({
    DATABASE_URL: url,
    TVDB_WORKER_CONCURRENCY: '2',
    TVDB_POLL_INTERVAL_MS: '200',
    TVDB_HEARTBEAT_MS: '1000',
  });
  const workers = [startTvdb(['worker'], env), startTvdb(['worker'], env)];
  t.teardown(() => Promise.all(workers.map((w) => w.stop('SIGKILL'))));
  const submitted = await runTvdb(['ingest', '--no-wait', '--json', docs], env);
  const ids = (JSON.parse(submitted.stdout) as { results: Array<{ jobId: string }> }).results.map((r) => r.jobId);
  await new Promise((r) => setTimeout(r, 1500));
  await postgres.stop(); // under load
  await new Promise((r) => setTimeout(r, 3000));
  await postgres.restart();
  const pool = await createDatabasePool(url, 2);
  t.teardown(() => pool.end());
  const states = await waitForTerminal(pool, ids, 150_000).catch((error) => {
    t.log(workers.map((w) => w.output().slice(-3000)).join('\n-----\n'));
    throw error;
  });
  t.true(
    Object.values(states).every((s) => s.state === 'complete'),
    JSON.stringify(Object.values(states).map((s) => `${s.state} ${s.last_error ?? ''}`)),
  );
  const exited = workers.filter((w) => w.child.exitCode !== null || w.child.signalCode !== null);
  for (const w of exited)
    t.log(`worker exited (${w.child.exitCode ?? w.child.signalCode}):\n${w.output().slice(-4000)}`);
  t.deepEqual(exited.length, 0, 'the workers stayed up');
});
