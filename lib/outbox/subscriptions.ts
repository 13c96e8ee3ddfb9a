// The webhook_subscriptions table (migration 000040): one database operation per function. Rows
// are read through webhook_subscription_status, which never shows the secret.
import { sql, type CommonQueryMethods } from 'slonik';
import { z } from 'zod';

export const SubscriptionRow = z.object({
  id: z.number(),
  url: z.string(),
  events: z.array(z.string()),
  enabled: z.boolean(),
  callback: z.boolean(),
  description: z.string(),
  created_at: z.number(),
  failing_since: z.number().nullable(),
  last_success_at: z.number().nullable(),
  disabled_at: z.number().nullable(),
  disabled_reason: z.string().nullable(),
  pending: z.number(),
  delivered: z.number(),
  failed: z.number(),
  cancelled: z.number(),
  oldest_pending_at: z.number().nullable(),
});
export type SubscriptionRow = z.infer<typeof SubscriptionRow>;

const columns = sql.fragment`id::int, url, events, enabled, callback, description, created_at, failing_since,
  last_success_at, disabled_at, disabled_reason, pending, delivered, failed, cancelled, oldest_pending_at`;

export async function insertSubscription(
  db: CommonQueryMethods,
  input: { url: string; events: readonly string[]; secret: string; description?: string; callback?: boolean },
): Promise<number> {
  return db.oneFirst(sql.type(z.object({ id: z.number() }))`
    insert into webhook_subscriptions (url, events, secret, description, callback)
    values (${input.url}, ${sql.array([...input.events], 'text')}, ${input.secret}, ${input.description ?? ''},
            ${input.callback ?? false})
    returning id::int`);
}

export async function getSubscription(db: CommonQueryMethods, id: number): Promise<SubscriptionRow | null> {
  return db.maybeOne(sql.type(SubscriptionRow)`select ${columns} from webhook_subscription_status where id = ${id}`);
}

export async function listSubscriptions(
  db: CommonQueryMethods,
  options: { callbacks?: boolean } = {},
): Promise<readonly SubscriptionRow[]> {
  return db.any(sql.type(SubscriptionRow)`
    select ${columns} from webhook_subscription_status
    where ${options.callbacks ?? false} or not callback order by id`);
}

/** Removes the subscription with its messages and their log. False when there was none. */
export async function removeSubscription(db: CommonQueryMethods, id: number): Promise<boolean> {
  const removed = await db.query(sql.unsafe`delete from webhook_subscriptions where id = ${id}`);
  return removed.rowCount > 0;
}

/** Stops deliveries and cancels pending messages; null when it was already disabled. */
export async function disableSubscription(db: CommonQueryMethods, id: number, reason: string): Promise<number | null> {
  return db.oneFirst(sql.type(z.object({ cancelled: z.number().nullable() }))`
    select disable_webhook_subscription(${id}, ${reason}) as cancelled`);
}

export async function enableSubscription(db: CommonQueryMethods, id: number): Promise<boolean> {
  return db.oneFirst(sql.type(z.object({ found: z.boolean() }))`select enable_webhook_subscription(${id}) as found`);
}

export async function setSubscriptionEvents(db: CommonQueryMethods, id: number, events: readonly string[]) {
  await db.query(
    sql.unsafe`update webhook_subscriptions set events = ${sql.array([...events], 'text')} where id = ${id}`,
  );
}
