// An alert POSTed to ALERT_WEBHOOK_URL as JSON, signed like our incoming webhooks (HMAC-SHA256 over
// "<timestamp>.<body>"), with a timeout. Returns null on a 2xx, else what went wrong.
import { signBody } from '../webhooks/signature.ts';
import type { AlertRow } from './alertRows.ts';

export async function postAlert(alert: AlertRow, url: string, secret: string | undefined): Promise<string | null> {
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
  if (secret) headers['x-tvdb-signature'] = signBody(`${timestamp}.${body}`, secret);
  const response = await fetch(url, { method: 'POST', body, headers, signal: AbortSignal.timeout(10_000) }).catch(
    (error: Error) => error,
  );
  if (response instanceof Error) return response.message;
  await response.body?.cancel();
  return response.ok ? null : `HTTP ${response.status}`;
}
