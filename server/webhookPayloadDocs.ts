// OpenAPI 3.1 `webhooks`: what tvdb POSTs to a subscription or callback URL, per event type, with
// the Standard Webhooks headers, and what the receiver's answer means.
import { z } from 'zod';
import type { ZodOpenApiObject } from 'zod-openapi';
import { WEBHOOK_PAYLOADS } from '../lib/outbox/payloads.ts';

const Headers = z.object({
  'webhook-id': z
    .string()
    .meta({ description: 'the event id: the same on every retry and replay (deduplicate by it)' }),
  'webhook-timestamp': z.string().meta({ description: 'seconds since the epoch of this attempt' }),
  'webhook-signature': z.string().meta({
    description:
      'v1,<base64 HMAC-SHA256 of "<webhook-id>.<webhook-timestamp>.<body>"> keyed by the base64-decoded secret after "whsec_"',
  }),
});

export function webhookPayloadDocs(): NonNullable<ZodOpenApiObject['webhooks']> {
  return Object.fromEntries(
    Object.entries(WEBHOOK_PAYLOADS).map(([type, schema]) => [
      type,
      {
        post: {
          summary: `${type} delivered to a subscriber`,
          requestParams: { header: Headers },
          requestBody: { required: true, content: { 'application/json': { schema } } },
          responses: {
            '200': {
              description: 'any 2xx: delivered. Any other answer, a timeout or no connection is retried with backoff',
            },
            '410': { description: 'Gone: the subscription is disabled' },
          },
        },
      },
    ]),
  );
}
