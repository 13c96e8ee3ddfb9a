// Messages of the outbox (migrations 000041-000042): the head of a line to deliver, recording an
// attempt (which also reschedules the line), test deliveries and replays. One operation each.
import { sql, type CommonQueryMethods } from 'slonik';
import { z } from 'zod';
import type { AttemptOutcome } from './postWebhook.ts';

const LineHead = z.object({
  message_id: z.number(),
  attempts: z.number(),
  next_attempt_at: z.number(),
  window_started_at: z.number(),
  webhook_id: z.string(),
  type: z.string(),
  body: z.string(),
  url: z.string(),
  secret: z.string(),
  enabled: z.boolean(),
});
export type LineHead = z.infer<typeof LineHead>;

/** The line's first pending message (lowest sequence), with what sending it takes. */
export async function loadLineHead(
  db: CommonQueryMethods,
  subscriptionId: number,
  line: string,
): Promise<LineHead | null> {
  return db.maybeOne(sql.type(LineHead)`
    select m.id::int as message_id, m.attempts, m.next_attempt_at, m.window_started_at, e.webhook_id, e.type,
           e.payload::text as body, s.url, s.secret, s.enabled
    from webhook_messages m
    join webhook_events e on e.id = m.event_id
    join webhook_subscriptions s on s.id = m.subscription_id
    where m.subscription_id = ${subscriptionId} and m.line = ${line} and m.status = 'pending'
    order by e.sequence nulls first, e.id
    limit 1`);
}

export type AttemptRecord = {
  messageId: number;
  outcome: AttemptOutcome;
  status: number | null;
  latencyMs: number;
  excerpt: string | null;
  error: string | null;
  nextAttemptAt: Date | null;
  giveUp: boolean;
  disableAfterMs: number;
};

/** Logs the attempt and applies it (see record_webhook_attempt); a message still pending has its
 * line queued again for nextAttemptAt in the same statement. */
export async function recordAttempt(db: CommonQueryMethods, a: AttemptRecord) {
  return db.one(sql.type(z.object({ message_status: z.string(), subscription_enabled: z.boolean().nullable() }))`
    select * from record_webhook_attempt(${a.messageId}, ${a.outcome}, ${a.status}, ${a.latencyMs}, ${a.excerpt},
      ${a.error}, ${a.nextAttemptAt ? a.nextAttemptAt.toISOString() : null}::timestamptz, ${a.giveUp},
      make_interval(secs => ${a.disableAfterMs / 1000}))`);
}

/** Queue the line's task again (more to send than one run takes, or a head not yet due). */
export async function requeueLine(db: CommonQueryMethods, subscriptionId: number, line: string, runAt: Date | null) {
  await db.query(sql.unsafe`
    select enqueue_webhook_line(${subscriptionId}, ${line}, ${runAt ? runAt.toISOString() : null}::timestamptz, 'replace')`);
}

export async function publishTestEvent(db: CommonQueryMethods, subscriptionId: number) {
  return db.one(sql.type(z.object({ event_id: z.number(), webhook_id: z.string(), message_id: z.number() }))`
    select event_id::int, webhook_id, message_id::int from publish_webhook_test(${subscriptionId})`);
}

export type ReplaySelection = { statuses: readonly string[]; webhookId?: string | undefined; since?: Date | undefined };

/** Messages sent again (back to pending, fresh window, lines queued); returns how many. */
export async function replayMessages(db: CommonQueryMethods, subscriptionId: number, selection: ReplaySelection) {
  return db.oneFirst(sql.type(z.object({ n: z.number() }))`
    select replay_webhook_messages(${subscriptionId}, ${sql.array([...selection.statuses], 'text')},
      ${selection.webhookId ?? null}, ${selection.since ? selection.since.toISOString() : null}::timestamptz) as n`);
}
