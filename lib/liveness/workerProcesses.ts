// The worker_processes table: one row per live graphile-worker pool, with its heartbeat.
import { hostname } from 'node:os';
import { sql, type CommonQueryMethods } from 'slonik';
import { z } from 'zod';

export async function recordHeartbeat(db: CommonQueryMethods, poolId: string) {
  await db.query(sql.unsafe`
    insert into worker_processes (pool_id, host, pid) values (${poolId}, ${hostname()}, ${process.pid})
    on conflict (pool_id) do update set heartbeat_at = now()`);
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
