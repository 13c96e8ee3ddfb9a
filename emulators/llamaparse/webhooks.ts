// The LlamaParse emulator's webhook sender: an envelope per event in the configured output format,
// signed with the job's signing secret (LC-Signature), POSTed with LlamaParse's retries (3 attempts).
// Faults: drop, duplicate, malformed bodies.
import { randomUUID } from 'node:crypto';
import { signBody } from '../../lib/webhooks/signature.ts';
import { sleep } from '../http.ts';
import type { LlamaParseFaults } from './faults.ts';
import type { EmulatedJob, EmulatorStats } from './jobs.ts';

export type WebhookSender = { retryDelaysMs: number[]; timeoutMs: number; stats: EmulatorStats };

export function sendWebhook(
  sender: WebhookSender,
  faults: LlamaParseFaults,
  job: EmulatedJob,
  eventType: string,
  force = false,
) {
  const hook = job.webhook;
  if (!hook || faults.webhooks?.drop) return;
  if (!force && hook.webhook_events?.length && !hook.webhook_events.includes(eventType)) return;
  const envelope = {
    event_id: randomUUID(),
    event_type: eventType,
    timestamp: Date.now() / 1000,
    data: { id: job.id, job_id: job.id },
  };
  const json = JSON.stringify(envelope);
  let body = hook.webhook_output_format === 'json' ? json : JSON.stringify(json);
  if (faults.webhooks?.malformed) body = body.slice(0, Math.floor(body.length / 2));
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    'user-agent': 'llamaindex-webhook-service/1.0',
    'x-webhook-event-id': envelope.event_id,
    'x-webhook-event-type': eventType,
    ...Object.fromEntries(Object.entries(hook.webhook_headers ?? {}).map(([k, v]) => [k, String(v)])),
  };
  if (hook.webhook_signing_secret) headers['lc-signature'] = signBody(body, hook.webhook_signing_secret);
  const copies = 1 + (faults.webhooks?.duplicates ?? 0);
  for (let i = 0; i < copies; i++) void deliver(sender, hook.webhook_url, body, headers);
}

async function deliver(sender: WebhookSender, url: string, body: string, headers: Record<string, string>) {
  const delays = [0, ...sender.retryDelaysMs.slice(0, 2)]; // 3 attempts in all
  for (const delay of delays) {
    if (delay) await sleep(delay);
    try {
      const response = await fetch(url, {
        method: 'POST',
        body,
        headers,
        signal: AbortSignal.timeout(sender.timeoutMs),
      });
      await response.arrayBuffer().catch(() => undefined);
      if (response.ok) {
        sender.stats.webhookDeliveries += 1;
        return;
      }
    } catch {
      // receiver down: retry
    }
  }
  sender.stats.webhookFailures += 1;
}
