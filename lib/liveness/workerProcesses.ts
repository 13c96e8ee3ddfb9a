// The worker_processes table: one row per live graphile-worker pool, with its heartbeat.
import { hostname } from 'node:os';
import { sql, type CommonQueryMethods } from 'slonik';
import { z } from 'zod';
import { thisProcess } from './processIdentity.ts';

export async function recordHeartbeat(db: CommonQueryMethods, poolId: string) {
  const me = thisProcess();
  await db.query(sql.unsafe`
    insert into worker_processes (pool_id, host, pid, domain, pid_start)
    values (${poolId}, ${hostname()}, ${process.pid}, ${me?.domain ?? null}, ${me?.pidStart ?? null})
    on conflict (pool_id) do update set heartbeat_at = now()`);
}

/** Other processes of this process's domain that hold a stage lease or a worker pool. */
export async function processesToCheck(db: CommonQueryMethods, domain: string) {
  return db.any(sql.type(z.object({ pid: z.number(), pid_start: z.string() }))`
    select pid, pid_start from processes_in_domain(${domain}, ${process.pid})`);
}

/** Releases the stage leases and worker pools of a process found gone (see processGone). */
export async function releaseDeadProcess(
  db: CommonQueryMethods,
  dead: { domain: string; pid: number; pidStart: string },
): Promise<{ leases: number; pools: readonly string[] }> {
  return db.one(sql.type(z.object({ leases: z.number(), pools: z.array(z.string()) }))`
    select leases, pools from release_dead_process(${dead.domain}, ${dead.pid}::int, ${dead.pidStart})`);
}

/** Inside a transaction: true when this transaction is the one reaper (advisory lock 'tvdb'). */
export async function takeReaperLock(tx: CommonQueryMethods): Promise<boolean> {
  return tx.oneFirst(sql.type(z.object({ l: z.boolean() }))`select pg_try_advisory_xact_lock(${0x7476_6462}) as l`);
}

/** Forgets pools silent for staleS and unlocks their graphile jobs; returns the pools reaped. */
export async function reapDeadWorkers(db: CommonQueryMethods, staleS: number): Promise<readonly string[]> {
  return db.anyFirst(
    sql.type(z.object({ p: z.string() }))`select reap_dead_workers(make_interval(secs => ${staleS})) as p`,
  );
}

/** Unlocks the graphile jobs a (dead) pool held and forgets it. */
export async function releaseWorkerPool(db: CommonQueryMethods, poolId: string) {
  await db.query(sql.unsafe`select graphile_worker.force_unlock_workers(${sql.array([poolId], 'text')})`);
  await forgetWorker(db, poolId);
}

export async function forgetWorker(db: CommonQueryMethods, poolId: string) {
  await db.query(sql.unsafe`delete from worker_processes where pool_id = ${poolId}`);
}
