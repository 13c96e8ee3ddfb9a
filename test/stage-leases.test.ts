// Fenced stage runs (sql/functions/claim_stage_run.sql and its neighbours): one run of a stage at a time per job,
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
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { processGone, thisProcess } from '../lib/liveness/processIdentity.ts';
import { releaseGoneProcesses, releaseHolderIfGone } from '../lib/liveness/releaseGone.ts';
import { createLogger } from '../lib/log.ts';

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

/** A real process to hold leases: its identity as processIdentity.ts names it, and its end. */
function leaseHolderProcess(t: import('ava').ExecutionContext) {
  const child: ChildProcess = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
  const exited = new Promise((r) => child.once('exit', r));
  t.teardown(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  const stat = readFileSync(`/proc/${child.pid}/stat`, 'utf8');
  const pidStart = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]!;
  const me = thisProcess()!;
  return { child, exited, holder: { domain: me.domain, pid: child.pid!, pidStart } };
}

const quiet = createLogger('silent');

test('a lease whose holder process is gone is released at once on its host; a frozen holder keeps it; a reused pid does not save it', async (t) => {
  if (!thisProcess()) {
    t.pass('no /proc here: nobody can tell a process is gone, leases run their course');
    return;
  }
  const { db, jobId } = await oneQueuedJob(t);
  const { child, exited, holder } = leaseHolderProcess(t);
  const held = await claimStageRun(db.pool, { jobId, stage: 'parse', owner: 'child', leaseS: 60, holder });
  t.is(held.outcome, 'claimed');
  // Frozen: the pid exists, so the lease stays (exactly-once for a process that may wake up).
  child.kill('SIGSTOP');
  const busy = await claimStageRun(db.pool, { jobId, stage: 'parse', owner: 'other', leaseS: 30 });
  if (busy.outcome !== 'busy') {
    t.fail(busy.outcome);
    return;
  }
  t.deepEqual(busy.holder, holder, 'a busy claim names the holding process');
  t.false(processGone(holder.pid, holder.pidStart), 'a stopped process is not gone');
  t.false(await releaseHolderIfGone(db.pool, busy.holder!, quiet));
  // Another process's pid with this one's start time: a reused pid, so the holder is gone.
  t.true(processGone(holder.pid, `${Number(holder.pidStart) - 1}`), 'same pid, another start time: gone');
  // A holder of another domain (another host, another pid namespace) is never judged from here.
  t.false(await releaseHolderIfGone(db.pool, { ...holder, domain: 'elsewhere', pid: 999_999 }, quiet));
  t.is((await claimStageRun(db.pool, { jobId, stage: 'parse', owner: 'other', leaseS: 30 })).outcome, 'busy');
  // Killed: gone, released at once although its lease had a minute left.
  child.kill('SIGKILL');
  await exited;
  t.true(processGone(holder.pid, holder.pidStart));
  t.true(await releaseHolderIfGone(db.pool, holder, quiet));
  const next = await claimStageRun(db.pool, { jobId, stage: 'parse', owner: 'other', leaseS: 30 });
  t.is(next.outcome, 'claimed');
});

test('the liveness sweep releases the leases and worker pools of processes of its host that are gone', async (t) => {
  if (!thisProcess()) {
    t.pass('no /proc here');
    return;
  }
  const { db, jobId } = await oneQueuedJob(t);
  const dead = leaseHolderProcess(t);
  const frozen = leaseHolderProcess(t);
  await claimStageRun(db.pool, { jobId, stage: 'parse', owner: 'dead', leaseS: 60, holder: dead.holder });
  // (The job is not in chunk: the frozen holder's lease is written as a claim would.)
  await db.pool.query(sql.unsafe`
    insert into stage_leases (job_id, stage, token, owner, expires_at, holder_domain, holder_pid, holder_pid_start)
    values (${jobId}::uuid, 'chunk', nextval('stage_lease_tokens'), 'frozen', now() + interval '60 seconds',
            ${frozen.holder.domain}, ${frozen.holder.pid}, ${frozen.holder.pidStart})`);
  for (const [pool, p] of [
    ['pool-dead', dead.holder],
    ['pool-frozen', frozen.holder],
  ] as const)
    await db.pool.query(sql.unsafe`
      insert into worker_processes (pool_id, host, pid, domain, pid_start) values (${pool}, 'here', ${p.pid}, ${p.domain}, ${p.pidStart})`);
  // A graphile job locked by the dead pool (a task it was running when it died).
  await db.pool.query(sql.unsafe`
    update graphile_worker._private_jobs set locked_by = 'pool-dead', locked_at = now() where key = ${'parse:' + jobId}`);
  frozen.child.kill('SIGSTOP');
  dead.child.kill('SIGKILL');
  await dead.exited;
  t.is(await releaseGoneProcesses(db.pool, quiet), 1);
  const left = await db.pool.anyFirst(
    sql.type(z.object({ o: z.string() }))`select owner as o from stage_leases order by owner`,
  );
  t.deepEqual(left, ['frozen']);
  const pools = await db.pool.anyFirst(
    sql.type(z.object({ p: z.string() }))`select pool_id as p from worker_processes`,
  );
  t.deepEqual(pools, ['pool-frozen']);
  const locked = await db.pool.oneFirst(sql.type(z.object({ n: z.number() }))`
    select count(*)::int as n from graphile_worker._private_jobs where locked_by is not null`);
  t.is(locked, 0, "the dead pool's task is unlocked for the survivors");
});

test('a stage task finding its stage held by a killed process of its host runs at once, not after the lease', async (t) => {
  if (!thisProcess()) {
    t.pass('no /proc here');
    return;
  }
  const { db, pipeline, jobId } = await oneQueuedJob(t);
  const { child, exited, holder } = leaseHolderProcess(t);
  await claimStageRun(db.pool, { jobId, stage: 'parse', owner: 'child', leaseS: 120, holder });
  child.kill('SIGSTOP');
  await pipeline.start();
  await waitFor(
    'a stage_busy note while the holder is frozen',
    () =>
      db.pool.maybeOneFirst(sql.type(z.object({ s: z.string() }))`
        select detail ->> 'stage' as s from job_events
        where job_id = ${jobId}::uuid and kind = 'note' and detail ->> 'event' = 'stage_busy' limit 1`),
    15_000,
  );
  child.kill('SIGKILL');
  await exited;
  const killedAt = Date.now();
  const states = await waitForTerminal(db.pool, [jobId], 30_000);
  t.is(states[jobId]!.state, 'complete');
  const s = (Date.now() - killedAt) / 1000;
  t.true(s < 15, `done ${s.toFixed(1)} s after its holder died (its lease had 120 s)`);
  t.true(pipeline.logs.some((l) => String(l.msg).includes('process that is gone')));
});
