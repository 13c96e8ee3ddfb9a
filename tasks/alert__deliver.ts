// Delivers an alert row (the outbox written by raise_alert): a log line at its severity, and when
// ALERT_WEBHOOK_URL is set a POST signed like our incoming webhooks (HMAC-SHA256, with a timestamp
// inside the signed string). A failed POST is retried by graphile-worker with backoff.
import type { Task } from 'graphile-worker';
import { sql } from 'slonik';
import { z } from 'zod';
import type { PipelineDeps } from '../lib/pipeline/deps.ts';
import { signBody } from '../lib/webhooks/signature.ts';

const Alert = z.object({
  id: z.number(),
  kind: z.string(),
  severity: z.string(),
  message: z.string(),
  detail: z.unknown(),
  created_at: z.number(),
  delivered_at: z.number().nullable(),
});

export function alert__deliver(deps: PipelineDeps): Task {
  return async (payload) => {
    const { alertId } = z.object({ alertId: z.number() }).parse(payload);
    const alert = await deps.pool.maybeOne(sql.type(Alert)`
      select id::int, kind, severity, message, detail, created_at, delivered_at from alerts where id = ${alertId}`);
    if (!alert || alert.delivered_at !== null) return;
    const line = { alert_id: alert.id, kind: alert.kind, severity: alert.severity, detail: alert.detail };
    if (alert.severity === 'critical') deps.log.error(line, `ALERT: ${alert.message}`);
    else deps.log.warn(line, `ALERT: ${alert.message}`);
    const url = deps.config.ALERT_WEBHOOK_URL;
    if (url) {
      const body = JSON.stringify({
        id: alert.id,
        kind: alert.kind,
        severity: alert.severity,
        message: alert.message,
        detail: alert.detail,
        created_at: new Date(alert.created_at).toISOString(),
      });
      const timestamp = String(Math.floor(Date.now() / 1000));
      const headers: Record<string, string> = { 'content-type': 'application/json', 'x-tvdb-timestamp': timestamp };
      if (deps.config.ALERT_WEBHOOK_SECRET)
        headers['x-tvdb-signature'] = signBody(`${timestamp}.${body}`, deps.config.ALERT_WEBHOOK_SECRET);
      const response = await fetch(url, { method: 'POST', body, headers, signal: AbortSignal.timeout(10_000) }).catch(
        (error: Error) => error,
      );
      if (response instanceof Error || !response.ok) {
        const reason = response instanceof Error ? response.message : `HTTP ${response.status}`;
        await deps.pool.query(sql.unsafe`update alerts set delivery_error = ${reason} where id = ${alert.id}`);
        throw new Error(`alert ${alert.id}: POST to ALERT_WEBHOOK_URL failed (${reason}); will retry`);
      }
    }
    await deps.pool.query(
      sql.unsafe`update alerts set delivered_at = now(), delivery_error = null where id = ${alert.id}`,
    );
  };
}
