// Worker liveness: each worker process heartbeats its graphile-worker pool id; every process
// reaps pools whose heartbeat went stale (a SIGKILL, an OOM, a lost host), unlocking their jobs for
// the survivors, and re-enqueues stranded jobs (see the stuck_jobs view). One reaper at a time,
// by advisory lock.
import { hostname } from 'node:os';
import { sql, type DatabasePool } from 'slonik';
import { z } from 'zod';
import type { Logger } from '../lib/log.ts';
import { enqueue } from '../lib/jobs/enqueue.ts';
import { advanceJob } from '../lib/jobs/advanceJob.ts';
import type { AttemptsFor } from '../lib/jobs/attempts.ts';

export type LivenessOptions = { heartbeatMs: number; staleS: number; attempts: AttemptsFor };

const REAPER_LOCK = 0x7476_6462; // 'tvdb'

export function startLiveness(pool: DatabasePool, poolId: string, log: Logger, options: LivenessOptions) {
  const beat = () =>
    pool.query(sql.unsafe`
      insert into worker_processes (pool_id, host, pid) values (${poolId}, ${hostname()}, ${process.pid})
      on conflict (pool_id) do update set heartbeat_at = now()`);
  const sweep = async () => {
    await beat();
    const reaped = await pool.transaction(async (tx) => {
      const locked = await tx.oneFirst(
        sql.type(z.object({ l: z.boolean() }))`select pg_try_advisory_xact_lock(${REAPER_LOCK}) as l`,
      );
      if (!locked) return [];
      const dead = await tx.anyFirst(
        sql.type(z.object({ p: z.string() }))`select reap_dead_workers(make_interval(secs => ${options.staleS})) as p`,
      );
      await reconcileStuckJobs(tx, options.attempts, log);
      return dead;
    });
    if (reaped.length) log.warn({ pools: reaped }, 'unlocked the jobs of workers whose heartbeat stopped');
  };
  let running = Promise.resolve();
  const timer = setInterval(() => {
    running = sweep().catch((error) => log.warn({ err: error }, 'liveness sweep failed (will retry)'));
  }, options.heartbeatMs);
  timer.unref();
  return {
    first: sweep(),
    async stop() {
      clearInterval(timer);
      await running;
      await pool.query(sql.unsafe`delete from worker_processes where pool_id = ${poolId}`).catch(() => {});
    },
  };
}

const Stuck = z.object({ job_id: z.string(), state: z.string(), correlation_id: z.string() });
const TASK_FOR: Record<string, 'job__parse' | 'job__chunk' | 'job__embed'> = {
  uploaded: 'job__parse',
  parse_queued: 'job__parse',
  parsed: 'job__chunk',
  chunking: 'job__chunk',
  chunks_stored: 'job__embed',
  embedding_queued: 'job__embed',
  embedding_in_progress: 'job__embed',
};

export async function reconcileStuckJobs(tx: import('slonik').CommonQueryMethods, attempts: AttemptsFor, log: Logger) {
  const stuck = await tx.any(
    sql.type(Stuck)`select job_id::text, state::text, correlation_id from stuck_jobs limit 100`,
  );
  for (const job of stuck) {
    const payload = { jobId: job.job_id, correlationId: job.correlation_id };
    // Moves that happen in one transaction with their enqueue cannot strand; these can only come
    // from outside (psql): finish them the same way.
    if (job.state === 'uploaded') await advanceJob(tx, job.job_id, 'uploaded', 'parse_queued', { who: 'reconciler' });
    if (job.state === 'chunks_stored')
      await advanceJob(tx, job.job_id, 'chunks_stored', 'embedding_queued', { who: 'reconciler' });
    if (job.state === 'embeddings_stored') {
      await advanceJob(tx, job.job_id, 'embeddings_stored', 'complete', { who: 'reconciler' });
      continue;
    }
    const next = TASK_FOR[job.state]!; // the state it started in: uploaded and chunks_stored were moved on above
    await enqueue(tx, next, payload, { maxAttempts: attempts(next) });
    await tx.query(
      sql.unsafe`select add_job_note(${job.job_id}::uuid, ${sql.jsonb({ event: 'reconciled', action: `re-enqueued ${next}` })})`,
    );
    log.warn(
      { job_id: job.job_id, correlation_id: job.correlation_id, state: job.state, task: next },
      'stranded job re-enqueued',
    );
  }
}
