// What /metrics shows of outbound webhooks at scrape time: messages waiting (and how old the
// oldest is), subscriptions enabled and disabled.
import { sql, type CommonQueryMethods } from 'slonik';
import { z } from 'zod';

const OutboxGauges = z.object({
  pending: z.number(),
  oldest_pending_s: z.number(),
  enabled: z.number(),
  disabled: z.number(),
});
export type OutboxGauges = z.infer<typeof OutboxGauges>;

export async function loadOutboxGauges(db: CommonQueryMethods): Promise<OutboxGauges> {
  return db.one(sql.type(OutboxGauges)`
    select (select count(*)::int from webhook_messages where status = 'pending') as pending,
           coalesce((select extract(epoch from now() - min(created_at))::float8 from webhook_messages
                     where status = 'pending'), 0) as oldest_pending_s,
           (select count(*)::int from webhook_subscriptions where enabled) as enabled,
           (select count(*)::int from webhook_subscriptions where not enabled) as disabled`);
}
