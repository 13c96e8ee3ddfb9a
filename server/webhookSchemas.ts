// Request and response shapes of /v1/webhooks (the handlers parse with these; the OpenAPI
// description is generated from them).
import { z } from 'zod';
import { EVENT_TYPES, EventList } from '../lib/outbox/eventTypes.ts';
import { LogEntry } from '../lib/outbox/deliveryLog.ts';
import { SubscriptionRow } from '../lib/outbox/subscriptions.ts';

export const SubscriptionId = z.object({ id: z.coerce.number().int().positive() });

export const Subscription = SubscriptionRow.extend({
  events: z.array(z.string()).meta({ description: `events delivered: ${EVENT_TYPES.join(', ')}` }),
  created_at: z.number().meta({ description: 'epoch milliseconds (as every time here)' }),
}).meta({ id: 'WebhookSubscription', description: 'a subscription, its health and backlog (never its secret)' });

export const NewSubscription = z.object({
  url: z
    .string()
    .max(2048)
    .meta({ description: 'http(s) URL; loopback, private and link-local addresses are refused' }),
  events: EventList.optional().meta({ description: 'default: every event' }),
  description: z.string().max(200).optional(),
});

export const CreatedSubscription = z
  .object({
    subscription: Subscription,
    secret: z.string().meta({ description: 'whsec_<base64>: shown this once; verify deliveries with it' }),
  })
  .meta({ id: 'CreatedWebhookSubscription' });

export const SubscriptionPatch = z
  .object({ enabled: z.boolean().optional(), events: EventList.optional() })
  .refine((p) => p.enabled !== undefined || p.events !== undefined, 'give enabled and/or events');

export const ListQuery = z.object({
  callbacks: z.enum(['true', 'false']).default('false').meta({ description: 'include per-upload callbacks' }),
});

export const LogQuery = z.object({ limit: z.coerce.number().int().min(1).max(1000).default(50) });

export const DeliveryAttempt = LogEntry.meta({ id: 'WebhookDeliveryAttempt' });

export const ReplayRequest = z.object({
  status: z
    .array(z.enum(['failed', 'cancelled', 'delivered']))
    .min(1)
    .default(['failed', 'cancelled'])
    .meta({ description: 'which messages to send again' }),
  webhook_id: z.string().max(100).optional().meta({ description: 'only this event' }),
  since: z.iso.datetime({ offset: true }).optional().meta({ description: 'only events written since' }),
});

export const TestQueued = z.object({ webhook_id: z.string(), message_id: z.number() });
