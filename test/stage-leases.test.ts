// Fenced stage runs (sql/migrations/000013_stage_leases.sql): one run of a stage at a time per job,
// and a run that lost its lease writes nothing. SQL semantics through lib/jobs/stageLeases.ts, on
// a real database; and the stage wrapper's answer to a busy stage.
import test from 'ava';
import { createPool, sql, type DatabasePool } from 'slonik';
import { z } from 'zod';
import { createTestDatabase } from './helpers/database.ts';
import { ingest, testPipeline, waitForTerminal } from './helpers/pipeline.ts';
import { waitFor } from './helpers/processGroups.ts';
import { claimStageRun, extendStageLease, fenceStageRun, releaseStageLease } from '../lib/jobs/stageLeases.ts';
import { recordCost, type LedgerEntry } from '../lib/costs/budget.ts';
import { advanceJob, sqlState } from '../lib/jobs/advanceJob.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A test database with one job waiting in parse_queued (no worker running). */
async function oneQueuedJob(t: import('ava').ExecutionContext) {
  const db = await createTestDatabase();
  const pipeline = testPipeline(db);
  t.teardown(async () => {
    await pipeline.stop();
    await db.drop();
  });
  const [result] = await ingest(pipeline.deps, [
    { name: 'manual.md', bytes: Buffer.from('# Pump manual\n\nPrime the pump before the first start.\n') },
  ]);
  if (!result?.ok) throw new Error('intake refused the document');
  return { db, pipeline, jobId: result.jobId };
}

const charge = (jobId: string, leaseToken: string): LedgerEntry => ({
  service: 'embeddings',
  operation: 'embed',
  units: 100,
  unit: 'tokens',
  costMicroUsd: 2,
  estimated: false,
  jobId,
  correlationId: 'test',
  externalId: null,
  reservationId: null,
  leaseToken,
});

const ledgerRows = (pool: DatabasePool, jobId: string) =>
  pool.oneFirst(
    sql.type(z.object({ n: z.number() }))`select count(*)::int as n from cost_ledger where job_id = ${jobId}::uuid`,
  );

/** Claims in this database that wait on a lock (a job row, a lease row or the fence). */
const claimsWaitingOnALock = (pool: DatabasePool) =>
  pool.oneFirst(sql.type(z.object({ n: z.number() }))`
    select count(*)::int as n from pg_stat_activity
    where datname = current_database() and wait_event_type = 'Lock' and query like '%claim_stage_run%'`);

test('claim_stage_run: claimed, then busy (with the seconds left) while the lease lives, not_in_stage for another stage', async (t) => {
  const { db, jobId } = await oneQueuedJob(t);
  const first = await claimStageRun(db.pool, { jobId, stage: 'parse', owner: 'run-a', leaseS: 30 });
  t.is(first.outcome, 'claimed');
  t.is(first.state, 'parse_queued');
  const second = await claimStageRun(db.pool, { jobId, stage: 'parse', owner: 'run-b', leaseS: 30 });
  if (second.outcome !== 'busy') return t.fail(`second claim: ${second.outcome}`);
  t.true(second.retryInS > 28 && second.retryInS <= 30, `retry in ${second.retryInS} s`);
  const chunk = await claimStageRun(db.pool, { jobId, stage: 'chunk', owner: 'run-c', leaseS: 30 });
  t.deepEqual(chunk, { outcome: 'not_in_stage', state: 'parse_queued' });
  // The lease names its owner; the busy claim changed nothing.
  const lease = await db.pool.one(sql.type(z.object({ owner: z.string(), token: z.string() }))`
    select owner, token::text from stage_leases where job_id = ${jobId}::uuid and stage = 'parse'`);
  t.deepEqual(lease, { owner: 'run-a', token: first.outcome === 'claimed' ? first.token : '' });
});

test('after the lease expires another run claims with a higher token; the old token can no longer fence, bill or extend', async (t) => {
  const { db, jobId } = await oneQueuedJob(t);
  const a = await claimStageRun(db.pool, { jobId, stage: 'parse', owner: 'run-a', leaseS: 1 });
  if (a.outcome !== 'claimed') return t.fail(a.outcome);
  await sleep(1200);
  const b = await claimStageRun(db.pool, { jobId, stage: 'parse', owner: 'run-b', leaseS: 30 });
  if (b.outcome !== 'claimed') return t.fail(b.outcome);
  t.true(BigInt(b.token) > BigInt(a.token), `${b.token} > ${a.token}`);
  const stale = { jobId, stage: 'parse' as const, token: a.token };

  // A write transaction of the stale run: refused at its first statement, nothing committed.
  const fenced = await t.throwsAsync(
    db.pool.transaction(async (tx) => {
      await fenceStageRun(tx, stale);
      await recordCost(tx, charge(jobId, a.token));
    }),
  );
  t.is(sqlState(fenced), 'TV005');
  t.regex(fenced?.message ?? '', /lost its lease/);
  // A ledger row carrying the stale token, even without the fence: refused by the ledger itself.
  const billed = await t.throwsAsync(recordCost(db.pool, charge(jobId, a.token)));
  t.is(sqlState(billed), 'TV005');
  t.regex(billed?.message ?? '', /stale lease token/);
  t.is(await ledgerRows(db.pool, jobId), 0, 'the stale run wrote nothing');

  t.false(await extendStageLease(db.pool, stale, 60, false), 'a stale token does not extend');
  await releaseStageLease(db.pool, stale); // the stale run's release must not free b's lease
  const c = await claimStageRun(db.pool, { jobId, stage: 'parse', owner: 'run-c', leaseS: 30 });
  t.is(c.outcome, 'busy', 'b still holds the stage');

  // The live run writes.
  t.true(await extendStageLease(db.pool, { ...stale, token: b.token }, 60, false));
  await db.pool.transaction(async (tx) => {
    await fenceStageRun(tx, { ...stale, token: b.token });
    await recordCost(tx, charge(jobId, b.token));
  });
  t.is(await ledgerRows(db.pool, jobId), 1);
});

test('a claim waits for a write transaction holding the fence, even past the lease: the old run’s write lands before the new run starts', async (t) => {
  const { db, jobId } = await oneQueuedJob(t);
  const a = await claimStageRun(db.pool, { jobId, stage: 'parse', owner: 'run-a', leaseS: 1 });
  if (a.outcome !== 'claimed') return t.fail(a.outcome);
  const events: string[] = [];
  let finish!: () => void;
  const gate = new Promise<void>((resolve) => (finish = resolve));
  // (Today the waiting claim and a's ledger insert deadlock, and slonik retries the claim that
  // Postgres aborted: the order below holds, a second later. See the test at the end.)
  // Run a: fences, then (frozen, say) holds its transaction open while its lease runs out.
  const write = db.pool.transaction(async (tx) => {
    await fenceStageRun(tx, { jobId, stage: 'parse', token: a.token });
    events.push('a fenced');
    await gate;
    await recordCost(tx, charge(jobId, a.token));
    events.push('a wrote');
  });
  await waitFor('run a to fence', async () => events.includes('a fenced'), 5000, 20);
  await sleep(1200); // a's lease has expired
  const claim = claimStageRun(db.pool, { jobId, stage: 'parse', owner: 'run-b', leaseS: 30 }).then((c) => {
    events.push('b claimed');
    return c;
  });
  const waiting = await waitFor('run b to wait for a lock', () => claimsWaitingOnALock(db.pool), 5000, 50);
  t.is(waiting, 1, 'the claim waits on a lock');
  await sleep(300);
  t.deepEqual(events, ['a fenced'], 'no claim while a holds the fence');
  finish();
  await write;
  const b = await claim;
  t.deepEqual(events, ['a fenced', 'a wrote', 'b claimed']);
  if (b.outcome !== 'claimed') return t.fail(b.outcome);
  t.true(BigInt(b.token) > BigInt(a.token));
  t.is(await ledgerRows(db.pool, jobId), 1, 'a’s write, made while it held the stage, stands');
  // From now on a is fenced off.
  const late = await t.throwsAsync(
    db.pool.transaction((tx) => fenceStageRun(tx, { jobId, stage: 'parse', token: a.token })),
  );
  t.is(sqlState(late), 'TV005');
});

test('a stage task that finds another run holding the stage defers (a stage_busy note, no attempt used) and runs once the lease is gone', async (t) => {
  const { db, pipeline, jobId } = await oneQueuedJob(t);
  // Another run (a worker elsewhere, say) holds the parse stage.
  const other = await claimStageRun(db.pool, { jobId, stage: 'parse', owner: 'elsewhere', leaseS: 60 });
  if (other.outcome !== 'claimed') return t.fail(other.outcome);
  await pipeline.start();
  await waitFor(
    'a stage_busy note',
    () =>
      db.pool.maybeOneFirst(sql.type(z.object({ s: z.string() }))`
        select detail ->> 'stage' as s from job_events
        where job_id = ${jobId}::uuid and kind = 'note' and detail ->> 'event' = 'stage_busy' limit 1`),
    15_000,
  );
  // The task was put back as a fresh graphile job: no attempt counted, due again within 5 s.
  const task = await waitFor(
    'the deferred task',
    () =>
      db.pool.maybeOne(sql.type(z.object({ attempts: z.number(), due_in_s: z.number(), locked: z.boolean() }))`
        select attempts, extract(epoch from run_at - now())::float8 as due_in_s, locked_at is not null as locked
        from graphile_worker.jobs where key = ${`parse:${jobId}`} and locked_at is null`),
    10_000,
  );
  t.is(task.attempts, 0);
  t.true(task.due_in_s <= 5.5, `due in ${task.due_in_s.toFixed(1)} s`);
  const state = await db.pool.oneFirst(
    sql.type(z.object({ s: z.string() }))`select state::text as s from jobs where id = ${jobId}::uuid`,
  );
  t.is(state, 'parse_queued', 'nothing was parsed while the other run held the stage');
  t.true(pipeline.logs.some((l) => String(l.msg).includes('another run holds the stage')));

  // The other run ends: the deferred task runs and the job completes.
  await releaseStageLease(db.pool, { jobId, stage: 'parse', token: other.token });
  const states = await waitForTerminal(db.pool, [jobId], 30_000);
  t.is(states[jobId]!.state, 'complete');
  const failedAttempts = await db.pool.oneFirst(sql.type(z.object({ n: z.number() }))`
    select count(*)::int as n from job_events where job_id = ${jobId}::uuid and detail ->> 'event' = 'attempt_failed'`);
  t.is(failedAttempts, 0);
});

// Found by this test (fixed): lock order. claim_stage_run locks the job row (FOR UPDATE) and then the lease row; a
// run's write transaction locks the lease row (fence_stage_run) and then the job row (moving the
// job, or any insert referencing it: ledger, chunks, events). A claim that arrives during such a
// write deadlocks with it; Postgres aborts one after deadlock_timeout (1 s here), and slonik's
// retries hide it (a 1 s stall, a "deadlock detected" in the server log, and a retried
// transaction when the write is the victim). Taking the lease row before the job row in
// claim_stage_run would make the claim simply wait.
test('a claim arriving during a run’s write that moves the job waits for it without a deadlock', async (t) => {
  const { db, jobId } = await oneQueuedJob(t);
  const noRetries = await createPool(db.url, { maximumPoolSize: 2, queryRetryLimit: 0, transactionRetryLimit: 0 });
  t.teardown(() => noRetries.end());
  const a = await claimStageRun(db.pool, { jobId, stage: 'parse', owner: 'run-a', leaseS: 30 });
  if (a.outcome !== 'claimed') return t.fail(a.outcome);
  let finish!: () => void;
  const gate = new Promise<void>((resolve) => (finish = resolve));
  let fenced = false;
  const write = noRetries.transaction(async (tx) => {
    await fenceStageRun(tx, { jobId, stage: 'parse', token: a.token });
    fenced = true;
    await gate;
    await advanceJob(tx, jobId, 'parse_queued', 'parsed', { who: 'worker' });
  });
  await waitFor('run a to fence', async () => fenced, 5000, 20);
  const claim = claimStageRun(noRetries, { jobId, stage: 'parse', owner: 'run-b', leaseS: 30 });
  await waitFor('run b to wait for the fence', () => claimsWaitingOnALock(db.pool), 5000, 50);
  finish();
  const [wrote, claimed] = await Promise.allSettled([write, claim]);
  t.is(wrote.status, 'fulfilled', wrote.status === 'rejected' ? String(wrote.reason) : '');
  t.is(claimed.status, 'fulfilled', claimed.status === 'rejected' ? String(claimed.reason) : '');
});

test('a session idle inside a transaction past the stale window is ended, and its locks with it', async (t) => {
  // What a frozen worker's open transaction becomes: the pipeline's pools end such sessions after
  // TVDB_WORKER_STALE_S (here 1 s), so the locks it held (a lease row, the reaper's lock) free up.
  const { createDatabasePool } = await import('../lib/db/database.ts');
  const db = await createTestDatabase();
  t.teardown(() => db.drop());
  const frozen = await createDatabasePool(db.url, 1, { idleInTransactionTimeoutS: 1 });
  t.teardown(() => frozen.end().catch(() => {}));
  const lockKey = 424242;
  const stuck = frozen
    .transaction(async (tx) => {
      await tx.query(sql.unsafe`select pg_advisory_xact_lock(${lockKey})`);
      await new Promise((r) => setTimeout(r, 3000)); // idle inside the transaction, as if frozen
      await tx.query(sql.unsafe`select 1`);
    })
    .then(
      () => 'committed',
      () => 'ended',
    );
  await new Promise((r) => setTimeout(r, 200));
  const taken = async () =>
    db.pool.oneFirst(sql.type(z.object({ l: z.boolean() }))`select pg_try_advisory_lock(${lockKey}) as l`);
  t.false(await taken(), 'held while the transaction lives');
  await new Promise((r) => setTimeout(r, 1500));
  t.true(await taken(), 'free once the idle session was ended');
  t.is(await stuck, 'ended');
});
