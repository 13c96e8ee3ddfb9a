// Retention: webhook deliveries and refusals older than the retention period are deleted in
// batches (one short transaction each, so nothing waits long on their locks), and the metric
// shards are folded into one row per series. SQL: prune_webhook_history, compact_metric_series.
import { sql, type DatabasePool } from 'slonik';
import { z } from 'zod';

const BATCH = 5000;
const MAX_BATCHES = 200; // a backlog beyond a million rows is finished by the next run

export async function pruneWebhookHistory(pool: DatabasePool, retentionDays: number): Promise<number> {
  let total = 0;
  for (let i = 0; i < MAX_BATCHES; i++) {
    const deleted = await pruneBatch(pool, retentionDays);
    total += deleted;
    if (deleted === 0) break;
  }
  return total;
}

async function pruneBatch(pool: DatabasePool, retentionDays: number): Promise<number> {
  return pool.oneFirst(sql.type(z.object({ n: z.number() }))`
    select prune_webhook_history(now() - make_interval(days => ${retentionDays}), ${BATCH}) as n`);
}

export async function compactMetricSeries(pool: DatabasePool): Promise<number> {
  return pool.oneFirst(sql.type(z.object({ n: z.number() }))`select compact_metric_series() as n`);
}
