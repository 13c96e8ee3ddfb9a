// Pure: the Standard Webhooks headers of one delivery attempt. The signature is HMAC-SHA256, keyed
// by the secret's bytes, over "<webhook-id>.<webhook-timestamp>.<body>", base64, as "v1,<sig>".
// Retries keep the id and get a fresh timestamp (receivers refuse old timestamps), so each attempt
// is signed anew.
import { createHmac } from 'node:crypto';
import { secretKey } from './secret.ts';

export function standardWebhookHeaders(input: { id: string; timestampS: number; body: string; secret: string }) {
  const signed = `${input.id}.${input.timestampS}.${input.body}`;
  const signature = createHmac('sha256', secretKey(input.secret)).update(signed).digest('base64');
  return {
    'webhook-id': input.id,
    'webhook-timestamp': String(input.timestampS),
    'webhook-signature': `v1,${signature}`,
  };
}
