// Worker liveness: each worker process heartbeats its graphile-worker pool id; every process
// reaps pools whose heartbeat went stale (a SIGKILL, an OOM, a lost host), unlocking their jobs for
// the survivors, and re-enqueues stranded jobs (see the stuck_jobs view). One reaper at a time,
// by advisory lock. A process of the same domain (host and pid namespace) found gone is released
// at once, without waiting for its heartbeat to go stale: its stage leases and its pools' jobs.
import type { DatabasePool } from 'slonik';
import type { Logger } from '../lib/log.ts';
import type { AttemptsFor } from '../lib/jobs/attempts.ts';
import { reconcileStuckJobs } from '../lib/jobs/reconcileStuckJobs.ts';
import { forgetWorker, reapDeadWorkers, recordHeartbeat, takeReaperLock } from '../lib/liveness/workerProcesses.ts';
import { releaseGoneProcesses } from '../lib/liveness/releaseGone.ts';

export type LivenessOptions = { heartbeatMs: number; staleS: number; attempts: AttemptsFor };

export function startLiveness(pool: DatabasePool, poolId: string, log: Logger, options: LivenessOptions) {
  const sweep = async () => {
    await recordHeartbeat(pool, poolId);
    await releaseGoneProcesses(pool, log);
    const reaped = await pool.transaction(async (tx) => {
      if (!(await takeReaperLock(tx))) return [];
      const dead = await reapDeadWorkers(tx, options.staleS);
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
      await forgetWorker(pool, poolId).catch(() => {});
    },
  };
}
