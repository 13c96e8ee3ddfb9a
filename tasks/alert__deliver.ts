// Delivers an alert row (the outbox written by raise_alert): a log line at its severity, and when
// ALERT_WEBHOOK_URL is set a signed POST. A failed POST is retried by graphile-worker with backoff.
import type { Task } from 'graphile-worker';
import { z } from 'zod';
import type { PipelineDeps } from '../lib/pipeline/deps.ts';
import { loadAlert, markAlertDelivered, markAlertUndelivered } from '../lib/alerts/alertRows.ts';
import { postAlert } from '../lib/alerts/postAlert.ts';

export default function alert__deliver(deps: PipelineDeps): Task {
  return async (payload) => {
    const { alertId } = z.object({ alertId: z.number() }).parse(payload);
    const alert = await loadAlert(deps.pool, alertId);
    if (!alert || alert.delivered_at !== null) return;
    const line = { alert_id: alert.id, kind: alert.kind, severity: alert.severity, detail: alert.detail };
    if (alert.severity === 'critical') deps.log.error(line, `ALERT: ${alert.message}`);
    else deps.log.warn(line, `ALERT: ${alert.message}`);
    const url = deps.config.ALERT_WEBHOOK_URL;
    const failure = url ? await postAlert(alert, url, deps.config.ALERT_WEBHOOK_SECRET) : null;
    if (failure) {
      await markAlertUndelivered(deps.pool, alert.id, failure);
      throw new Error(`alert ${alert.id}: POST to ALERT_WEBHOOK_URL failed (${failure}); will retry`);
    }
    await markAlertDelivered(deps.pool, alert.id);
  };
}
