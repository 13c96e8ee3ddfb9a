// Every hour (one run across all worker processes): delete webhook deliveries and refusals older
// than TVDB_RETENTION_DAYS and fold the metric shards, so history stays bounded over time.
import type { Task } from 'graphile-worker';
import type { PipelineDeps } from '../lib/pipeline/deps.ts';
import { compactMetricSeries, pruneWebhookHistory } from '../lib/retention/pruneHistory.ts';

export const crontab = '17 * * * * history__prune ?max=1&jobKey=history__prune';

export default function history__prune(deps: PipelineDeps): Task {
  return async () => {
    const deleted = await pruneWebhookHistory(deps.pool, deps.config.TVDB_RETENTION_DAYS);
    const folded = await compactMetricSeries(deps.pool);
    if (deleted > 0 || folded > 0)
      deps.log.info({ deleted, folded, retention_days: deps.config.TVDB_RETENTION_DAYS }, 'history pruned');
  };
}
