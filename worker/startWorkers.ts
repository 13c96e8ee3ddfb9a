// graphile-worker runners for the pipeline's tasks. Signals are ours (noHandleSignals): the CLI's
// runtime stops the runner first, then closes the pools. Each runner heartbeats its pool id so
// that, if this process dies, survivors unlock its jobs within a minute (see liveness.ts).
import { EventEmitter } from 'node:events';
import pg from 'pg';
import { run, type Runner, type WorkerEvents } from 'graphile-worker';
import { guardClient, guardDatabaseClients, withApplicationName } from '../lib/db/clientErrors.ts';
import { graphileLogger } from '../lib/db/migrate.ts';
import { configureRateLimits } from '../lib/resilience/rateLimits.ts';
import { checkTextSearchLanguage } from '../lib/search/textSearchLanguage.ts';
import type { PipelineDeps } from '../lib/pipeline/deps.ts';
import { loadTasks } from '../tasks/index.ts';
import { startLiveness } from './liveness.ts';

export type StartedWorkers = {
  runner: Runner;
  poolId: string;
  /** graphile-worker's connections (its LISTEN connection among them): ours, with error listeners. */
  pgPool: pg.Pool;
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
  // graphile-worker's pool is ours: every client keeps an error listener for its whole life, also
  // after graphile-worker's own handlers are removed (its runner stopping, or killed by the
  // supervisor while PostgreSQL is away); an idle client's loss is logged by clientErrors.ts.
  guardDatabaseClients(deps.log);
  const pgPool = new pg.Pool({
    connectionString: withApplicationName(connectionString, 'graphile'),
    max: concurrency + 2,
  });
  pgPool.on('error', () => {});
  pgPool.on('connect', (client) => guardClient(client));
  const events: WorkerEvents = new EventEmitter() as WorkerEvents;
  let poolId: string | undefined;
  events.on('pool:create', ({ workerPool }) => (poolId = workerPool.id));
  let runner: Runner;
  try {
    runner = await run({
      events,
      pgPool,
      concurrency,
      pollInterval: deps.config.TVDB_POLL_INTERVAL_MS,
      noHandleSignals: true,
      taskList,
      crontab,
      logger: graphileLogger(deps.log),
      // Not graphile-worker's batched completions (completeJobBatchDelay, failJobBatchDelay): a batch
      // that fails because the database is away stops the whole worker pool ("Failed to fail jobs"),
      // where one completion at a time is retried (test/crash-recovery.test.ts found it).
    });
  } catch (error) {
    await pgPool.end().catch(() => {});
    throw error;
  }
  if (!poolId) {
    await runner.stop().catch(() => {});
    await pgPool.end().catch(() => {});
    throw new Error('graphile-worker did not report its pool id');
  }
  const liveness = startLiveness(deps.pool, poolId, deps.log, {
    heartbeatMs: deps.config.TVDB_HEARTBEAT_MS,
    staleS: deps.config.TVDB_WORKER_STALE_S,
    attempts: deps.attempts,
  });
  await liveness.first;
  return {
    runner,
    poolId,
    pgPool,
    liveness,
    // graphile-worker finishes the jobs in hand, then this process deregisters.
    async stop() {
      await runner.stop();
      await liveness.stop();
      await pgPool.end().catch(() => {});
    },
  };
}
