// Retention: webhook deliveries and refusals, outgoing webhook events, messages and attempts,
// per-upload callbacks, settled budget reservations and alerts older than the retention period are
// deleted in batches (one short transaction each, so nothing waits long on their locks); what is
// still needed stays (pending messages, held reservations, reservations the ledger names, a job's
// newest event). The metric shards are folded into one row per series.
// SQL: prune_webhook_history, prune_growing_history, compact_metric_series.
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

/** Rows deleted per table. */
export type PrunedCounts = Record<string, number>;

export async function pruneGrowingHistory(
  pool: DatabasePool,
  retentionDays: number,
  batch = BATCH,
): Promise<PrunedCounts> {
  const totals: PrunedCounts = {};
  for (let i = 0; i < MAX_BATCHES; i++) {
    const counts = await pool.oneFirst(sql.type(z.object({ counts: z.record(z.string(), z.number()) }))`
      select prune_growing_history(now() - make_interval(days => ${retentionDays}), ${batch}) as counts`);
    let more = false;
    for (const [table, n] of Object.entries(counts)) {
      if (n > 0) more = true;
      if (!table.endsWith('_passed')) totals[table] = (totals[table] ?? 0) + n;
    }
    if (!more) break;
  }
  return totals;
}

export async function compactMetricSeries(pool: DatabasePool): Promise<number> {
  return pool.oneFirst(sql.type(z.object({ n: z.number() }))`select compact_metric_series() as n`);
}
