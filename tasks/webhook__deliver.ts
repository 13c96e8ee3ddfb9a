// Delivers one line of the webhook outbox (a job's events for one subscription, in sequence), as
// queued by the triggers that write events (publish_webhook_event) and by each attempt's retry.
import type { Task } from 'graphile-worker';
import { z } from 'zod';
import type { PipelineDeps } from '../lib/pipeline/deps.ts';
import { deliverLine } from '../lib/outbox/deliverLine.ts';
import { deliverySettings } from '../lib/outbox/settings.ts';

const Payload = z.object({ subscriptionId: z.number().int(), line: z.string().min(1) });

export default function webhook__deliver(deps: PipelineDeps): Task {
  const settings = deliverySettings(deps.config);
  return async (payload) => deliverLine(deps.pool, deps.log, settings, Payload.parse(payload));
}
