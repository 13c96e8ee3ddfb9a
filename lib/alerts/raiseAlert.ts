// Raise an alert (SQL function raise_alert): one row per dedupe key, repeats counted, delivery
// queued in the same transaction (alert__deliver).
import { sql, type CommonQueryMethods } from 'slonik';

export type AlertInput = {
  kind: string;
  dedupeKey: string;
  severity: 'info' | 'warning' | 'critical';
  message: string;
  detail?: Record<string, unknown>;
};

export async function raiseAlert(db: CommonQueryMethods, alert: AlertInput) {
  await db.query(sql.unsafe`
    select raise_alert(${alert.kind}, ${alert.dedupeKey}, ${alert.severity}, ${alert.message}, ${sql.jsonb((alert.detail ?? {}) as never)})`);
}
