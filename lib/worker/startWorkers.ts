// graphile-worker runners for the pipeline's tasks. Signals are ours (noHandleSignals): the CLI's
// runtime stops the runner first, then closes the pools.
import { run, type Runner } from 'graphile-worker';
import { graphileLogger } from '../db/migrate.ts';
import { buildTaskList } from '../../tasks/index.ts';
import type { PipelineDeps } from './deps.ts';

export async function startWorkers(
  deps: PipelineDeps,
  connectionString: string,
  options: { concurrency?: number } = {},
): Promise<Runner> {
  const concurrency = options.concurrency ?? deps.config.TVDB_WORKER_CONCURRENCY;
  return run({
    connectionString,
    concurrency,
    maxPoolSize: concurrency + 2,
    pollInterval: deps.config.TVDB_POLL_INTERVAL_MS,
    noHandleSignals: true,
    taskList: buildTaskList(deps),
    logger: graphileLogger(deps.log),
  });
}
