// Every hour (one run across all worker processes): delete webhook deliveries and refusals,
// outgoing webhook history, finished per-upload callbacks, settled budget reservations and alerts
// older than TVDB_RETENTION_DAYS, and fold the metric shards, so history stays bounded over time.
import type { Task } from 'graphile-worker';
import type { PipelineDeps } from '../lib/pipeline/deps.ts';
import { compactMetricSeries, pruneGrowingHistory, pruneWebhookHistory } from '../lib/retention/pruneHistory.ts';

export const crontab = '17 * * * * history__prune ?max=1&jobKey=history__prune';

export default function history__prune(deps: PipelineDeps): Task {
  return async () => {
    const days = deps.config.TVDB_RETENTION_DAYS;
    const deleted = await pruneWebhookHistory(deps.pool, days);
    const pruned = await pruneGrowingHistory(deps.pool, days);
    const folded = await compactMetricSeries(deps.pool);
    const prunedTotal = Object.values(pruned).reduce((a, b) => a + b, 0);
    if (deleted > 0 || prunedTotal > 0 || folded > 0)
      deps.log.info({ deleted, pruned, folded, retention_days: days }, 'history pruned');
  };
}
