// Workers that survive a database outage. graphile-worker's own bookkeeping (completing or
// failing a job) can reject unhandled while Postgres is down, which would end the process. The
// supervisor catches that, stops the runner, waits for Postgres, unlocks the jobs its dead pool
// held (they run again: handlers are idempotent), and starts a fresh runner.
import type { PipelineDeps } from '../lib/pipeline/deps.ts';
import { startWorkers, type StartedWorkers } from './startWorkers.ts';
import { releaseWorkerPool } from '../lib/liveness/workerProcesses.ts';
import { isDatabaseUnavailable } from '../lib/db/unavailable.ts';

/** pg-pool's message when an ended pool is used (only graphile-worker uses the pools we retire). */
const RETIRED_POOL = 'Cannot use a pool after calling end on the pool';

export type SupervisedWorkers = { stop(): Promise<void>; restarts(): number };

export async function superviseWorkers(
  deps: PipelineDeps,
  connectionString: string,
  options: { concurrency?: number } = {},
): Promise<SupervisedWorkers> {
  let current: StartedWorkers = await startWorkers(deps, connectionString, options);
  let stopping = false;
  let restarting: Promise<void> | undefined;
  let restarts = 0;
  let retiredPools = 0;

  const restart = async (cause: unknown) => {
    const old = current;
    deps.log.error({ err: cause, pool_id: old.poolId }, 'database unavailable: restarting the workers once it is back');
    await old.runner.kill().catch(() => {});
    await old.liveness.stop().catch(() => {});
    retiredPools += 1;
    void old.pgPool.end().catch(() => {}); // not awaited: a client lost with PostgreSQL never comes back
    for (let delay = 500; !stopping; delay = Math.min(delay * 2, 10_000)) {
      try {
        await releaseWorkerPool(deps.pool, old.poolId);
        current = await startWorkers(deps, connectionString, options);
        restarts += 1;
        deps.log.warn({ pool_id: current.poolId, previous_pool_id: old.poolId }, 'database back: workers restarted');
        return;
      } catch (error) {
        deps.log.warn({ err: error, retry_in_ms: delay }, 'database still unavailable');
        await new Promise((r) => setTimeout(r, delay));
      }
    }
  };

  const onRejection = (reason: unknown) => {
    if (retiredPools > 0 && reason instanceof Error && reason.message === RETIRED_POOL) {
      // A task of the killed runner finished after its pool was ended: graphile-worker's completion
      // or failure of it rejects. The job was unlocked with the old pool and runs again.
      deps.log.warn({ err: reason }, "a stopped runner's task ended after its pool: the job runs again");
      return;
    }
    if (!isDatabaseUnavailable(reason)) {
      deps.log.fatal({ err: reason }, 'unhandled rejection');
      process.exit(1);
    }
    if (!stopping && !restarting) restarting = restart(reason).finally(() => (restarting = undefined));
  };
  process.on('unhandledRejection', onRejection);

  return {
    restarts: () => restarts,
    async stop() {
      stopping = true;
      await restarting;
      process.off('unhandledRejection', onRejection);
      await current.stop();
    },
  };
}
