// Deliver one line (a job's events for one subscription, or a lone event): its pending messages one
// at a time, lowest sequence first, so a receiver sees a job's events in order. A failed attempt
// stops the line: the message is retried with backoff (Retry-After honoured) until its window ends,
// and only then does the line move on past it. Nothing here holds a transaction across a request.
import type { DatabasePool } from 'slonik';
import type { Logger } from '../log.ts';
import { nextAttempt } from './backoff.ts';
import { DestinationError, resolveDestination } from './destination.ts';
import { loadLineHead, recordAttempt, requeueLine, type LineHead } from './messages.ts';
import { postWebhook, type AttemptResult } from './postWebhook.ts';
import type { DeliverySettings } from './settings.ts';
import { standardWebhookHeaders } from './signature.ts';

export type Line = { subscriptionId: number; line: string };

export async function deliverLine(pool: DatabasePool, log: Logger, settings: DeliverySettings, line: Line) {
  for (let sent = 0; sent < settings.maxPerRun; sent++) {
    const head = await loadLineHead(pool, line.subscriptionId, line.line);
    if (!head || !head.enabled) return; // nothing pending, or disabled (its messages were cancelled)
    if (head.next_attempt_at > Date.now() + 1000)
      return requeueLine(pool, line.subscriptionId, line.line, new Date(head.next_attempt_at));
    const result = await attempt(head, settings);
    const now = Date.now();
    const retry =
      result.outcome === 'delivered' || result.outcome === 'gone'
        ? null
        : nextAttempt({
            attempt: head.attempts + 1,
            nowMs: now,
            deadlineMs: head.window_started_at + settings.retryForMs,
            baseMs: settings.retryBaseMs,
            retryAfterMs: result.retryAfterMs,
          });
    const after = await recordAttempt(pool, {
      messageId: head.message_id,
      outcome: result.outcome,
      status: result.status,
      latencyMs: result.latencyMs,
      excerpt: result.excerpt,
      error: result.error,
      nextAttemptAt: retry && !retry.giveUp ? new Date(retry.at) : null,
      giveUp: retry?.giveUp ?? false,
      disableAfterMs: settings.disableAfterMs,
    });
    const fields = {
      subscription_id: line.subscriptionId,
      webhook_id: head.webhook_id,
      type: head.type,
      attempt: head.attempts + 1,
      outcome: result.outcome,
      status: result.status,
      latency_ms: result.latencyMs,
      host: new URL(head.url).host, // not the path or query: they may carry a token
    };
    if (result.outcome === 'delivered') log.info(fields, 'webhook delivered');
    else
      log.warn(
        { ...fields, error: result.error, message_status: after.message_status },
        after.message_status === 'pending'
          ? `webhook delivery failed (${result.error}); retry at ${new Date(retry && !retry.giveUp ? retry.at : now).toISOString()}`
          : `webhook delivery failed (${result.error}); message ${after.message_status}`,
      );
    // Pending: record_webhook_attempt queued the line for the retry. Disabled or removed: stop.
    if (after.message_status === 'pending' || !after.subscription_enabled) return;
  }
  await requeueLine(pool, line.subscriptionId, line.line, null); // more to send: a fresh run continues
}

/** One attempt: check where the URL points now, sign, POST to the checked address. */
async function attempt(head: LineHead, settings: DeliverySettings): Promise<AttemptResult> {
  const started = performance.now();
  let destination;
  try {
    // The lookup is inside the attempt's deadline: what it takes is not left for the POST.
    destination = await resolveDestination(head.url, { ...settings, lookupTimeoutMs: settings.timeoutMs });
  } catch (error) {
    if (!(error instanceof DestinationError)) throw error;
    return {
      outcome: error.kind === 'blocked' ? 'blocked' : 'unreachable',
      status: null,
      latencyMs: Math.round(performance.now() - started),
      excerpt: null,
      error: error.message,
      retryAfterMs: undefined,
    };
  }
  const headers = standardWebhookHeaders({
    id: head.webhook_id,
    timestampS: Math.floor(Date.now() / 1000),
    body: head.body,
    secret: head.secret,
  });
  const left = Math.max(1, settings.timeoutMs - Math.round(performance.now() - started));
  const result = await postWebhook(destination, { headers, body: head.body }, { timeoutMs: left });
  return { ...result, latencyMs: Math.round(performance.now() - started) };
}
