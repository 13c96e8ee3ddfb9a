// graphile-worker runners for the pipeline's tasks. Signals are ours (noHandleSignals): the CLI's
// runtime stops the runner first, then closes the pools. Each runner heartbeats its pool id so
// that, if this process dies, survivors unlock its jobs within a minute (see liveness.ts).
import { EventEmitter } from 'node:events';
import { run, type Runner, type WorkerEvents } from 'graphile-worker';
import { graphileLogger } from '../lib/db/migrate.ts';
import { configureRateLimits } from '../lib/resilience/rateLimits.ts';
import { checkTextSearchLanguage } from '../lib/search/textSearchLanguage.ts';
import type { PipelineDeps } from '../lib/pipeline/deps.ts';
import { loadTasks } from '../tasks/index.ts';
import { startLiveness } from './liveness.ts';

export type StartedWorkers = {
  runner: Runner;
  poolId: string;
  liveness: ReturnType<typeof startLiveness>;
  stop(): Promise<void>;
};

export async function startWorkers(
  deps: PipelineDeps,
  connectionString: string,
  options: { concurrency?: number } = {},
): Promise<StartedWorkers> {
  const concurrency = options.concurrency ?? deps.config.TVDB_WORKER_CONCURRENCY;
  await checkTextSearchLanguage(deps.pool, deps.config.TVDB_TEXT_SEARCH_LANGUAGE); // the chunk stage writes it
  await configureRateLimits(deps.pool, deps.config);
  const { taskList, crontab } = await loadTasks(deps);
  const events: WorkerEvents = new EventEmitter() as WorkerEvents;
  let poolId: string | undefined;
  events.on('pool:create', ({ workerPool }) => (poolId = workerPool.id));
  const runner = await run({
    events,
    connectionString,
    concurrency,
    maxPoolSize: concurrency + 2,
    pollInterval: deps.config.TVDB_POLL_INTERVAL_MS,
    noHandleSignals: true,
    taskList,
    crontab,
    logger: graphileLogger(deps.log),
    // Not graphile-worker's batched completions (completeJobBatchDelay, failJobBatchDelay): a batch
    // that fails because the database is away stops the whole worker pool ("Failed to fail jobs"),
    // where one completion at a time is retried (test/crash-recovery.test.ts found it).
  });
  if (!poolId) throw new Error('graphile-worker did not report its pool id');
  const liveness = startLiveness(deps.pool, poolId, deps.log, {
    heartbeatMs: deps.config.TVDB_HEARTBEAT_MS,
    staleS: deps.config.TVDB_WORKER_STALE_S,
    attempts: deps.attempts,
  });
  await liveness.first;
  return {
    runner,
    poolId,
    liveness,
    // graphile-worker finishes the jobs in hand, then this process deregisters.
    async stop() {
      await runner.stop();
      await liveness.stop();
    },
  };
}
