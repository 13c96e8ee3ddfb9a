// Recording into metric_series (see sql/functions/observe_metric.sql): a SQL fragment to put
// beside a statement the caller makes anyway, or a call of its own that never fails the work.
import { sql, type CommonQueryMethods } from 'slonik';
import type { Logger } from '../log.ts';

/** Latency of external calls, seconds: a fast embedding request to a slow LlamaParse upload. */
export const EXTERNAL_CALL_BOUNDS = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];
/** Duration of stage task attempts, seconds. */
export const STAGE_ATTEMPT_BOUNDS = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300];

export function observeMetricSql(name: string, labels: Record<string, string>, value = 1, bounds?: number[]) {
  return sql.fragment`observe_metric(${name}, ${sql.jsonb(labels)}, ${value}, ${
    bounds ? sql.array(bounds, 'float8') : null
  })`;
}

/** A metric is never worth failing the work it describes: a failure to record is logged. */
export async function observeMetric(
  db: CommonQueryMethods,
  log: Logger,
  name: string,
  labels: Record<string, string>,
  value = 1,
  bounds?: number[],
) {
  try {
    await db.query(sql.unsafe`select ${observeMetricSql(name, labels, value, bounds)}`);
  } catch (error) {
    log.warn({ err: error, metric: name }, 'could not record a metric');
  }
}
