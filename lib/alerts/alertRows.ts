// The alerts table (an outbox written by raise_alert): reading one for delivery, and marking it.
import { sql, type CommonQueryMethods } from 'slonik';
import { z } from 'zod';

const Alert = z.object({
  id: z.number(),
  kind: z.string(),
  severity: z.string(),
  message: z.string(),
  detail: z.unknown(),
  created_at: z.number(),
  delivered_at: z.number().nullable(),
});
export type AlertRow = z.infer<typeof Alert>;

export async function loadAlert(db: CommonQueryMethods, alertId: number): Promise<AlertRow | null> {
  return db.maybeOne(sql.type(Alert)`
    select id::int, kind, severity, message, detail, created_at, delivered_at from alerts where id = ${alertId}`);
}

export async function markAlertDelivered(db: CommonQueryMethods, alertId: number) {
  await db.query(sql.unsafe`update alerts set delivered_at = now(), delivery_error = null where id = ${alertId}`);
}

export async function markAlertUndelivered(db: CommonQueryMethods, alertId: number, reason: string) {
  await db.query(sql.unsafe`update alerts set delivery_error = ${reason} where id = ${alertId}`);
}

/** The failure-rate and stuck-job checks (SQL evaluate_pipeline_alerts); returns the alerts raised. */
export async function evaluatePipelineAlerts(
  db: CommonQueryMethods,
  rules: { windowMin: number; maxFailureRate: number; minAttempts: number },
): Promise<number> {
  return db.oneFirst(sql.type(z.object({ raised: z.number() }))`
    select evaluate_pipeline_alerts(make_interval(mins => ${rules.windowMin}), ${rules.maxFailureRate}, ${rules.minAttempts}) as raised`);
}
