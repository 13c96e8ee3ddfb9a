// The bodies tvdb POSTs to subscribers, one schema per event type (as publish_webhook_event and the
// triggers of migration 000041 build them): {type, timestamp, data}, the Standard Webhooks shape.
// Used by the OpenAPI description (its `webhooks`) and by the tests that receive them.
import { z } from 'zod';

const JobEventData = z.object({
  job_id: z.uuid(),
  file_name: z.string(),
  correlation_id: z.string(),
  state: z.string().meta({ description: 'the state the job entered' }),
  previous_state: z.string(),
  at: z.string().meta({ description: 'when the move happened (ISO 8601)' }),
  sequence: z.number().int().positive().meta({
    description: "position among the job's events (1, 2, ...): deliver order; gaps are events you did not subscribe to",
  }),
});
const JobFailedData = JobEventData.extend({
  stage: z.string(),
  error: z.string(),
  error_class: z.string().meta({ description: 'permanent, transient (retries ran out) or out_of_credits' }),
});
const AlertData = z.object({
  alert_id: z.number().int(),
  kind: z.string(),
  severity: z.enum(['info', 'warning', 'critical']),
  message: z.string(),
  detail: z.record(z.string(), z.unknown()),
  created_at: z.string(),
});
const TestData = z.object({ subscription_id: z.number().int(), message: z.string() });

const envelope = <T extends string, D extends z.ZodType>(type: T, data: D) =>
  z
    .object({ type: z.literal(type), timestamp: z.string().meta({ description: 'when the event was written' }), data })
    .meta({ id: `Webhook_${type.replace('.', '_')}` });

export const WEBHOOK_PAYLOADS = {
  'job.state_changed': envelope('job.state_changed', JobEventData),
  'job.complete': envelope('job.complete', JobEventData),
  'job.failed': envelope('job.failed', JobFailedData),
  'budget.alert': envelope('budget.alert', AlertData),
  'breaker.open': envelope('breaker.open', AlertData),
  'webhook.test': envelope('webhook.test', TestData),
} as const;

const P = WEBHOOK_PAYLOADS;
export const WebhookPayload = z.discriminatedUnion('type', [
  P['job.state_changed'],
  P['job.complete'],
  P['job.failed'],
  P['budget.alert'],
  P['breaker.open'],
  P['webhook.test'],
]);
export type WebhookPayload = z.infer<typeof WebhookPayload>;
