// The delivery log (view webhook_delivery_log): attempts, newest first.
import { sql, type CommonQueryMethods } from 'slonik';
import { z } from 'zod';

export const LogEntry = z.object({
  attempt_id: z.number(),
  at: z.number(),
  subscription_id: z.number(),
  webhook_id: z.string(),
  type: z.string(),
  job_id: z.string().nullable(),
  sequence: z.number().nullable(),
  attempt: z.number(),
  outcome: z.string(),
  http_status: z.number().nullable(),
  latency_ms: z.number(),
  response_excerpt: z.string().nullable(),
  error: z.string().nullable(),
  next_attempt_at: z.number().nullable(),
  message_status: z.string(),
});
export type LogEntry = z.infer<typeof LogEntry>;

export async function readDeliveryLog(
  db: CommonQueryMethods,
  filter: { subscriptionId?: number | undefined; webhookId?: string | undefined; limit: number },
): Promise<readonly LogEntry[]> {
  return db.any(sql.type(LogEntry)`
    select attempt_id::int, at, subscription_id::int, webhook_id, type, job_id::text, sequence, attempt, outcome,
           http_status, latency_ms, response_excerpt, error, next_attempt_at, message_status
    from webhook_delivery_log
    where (${filter.subscriptionId ?? null}::bigint is null or subscription_id = ${filter.subscriptionId ?? null}::bigint)
      and (${filter.webhookId ?? null}::text is null or webhook_id = ${filter.webhookId ?? null}::text)
    order by attempt_id desc
    limit ${filter.limit}`);
}
