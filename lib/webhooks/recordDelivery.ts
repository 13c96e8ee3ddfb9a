// The only database work of a webhook delivery: one row, and the collect task enqueued (coalesced
// per job), in one transaction. The collect task then reads LlamaParse's own status, so the order
// or number of deliveries does not matter.
import { sql, type DatabasePool } from 'slonik';
import { z } from 'zod';
import { enqueue } from '../jobs/enqueue.ts';
import { FINAL_EVENTS, KNOWN_EVENTS, type Envelope } from './envelope.ts';

export type DeliveryOutcome =
  | { outcome: 'accepted' | 'duplicate'; jobId: string; acted: boolean }
  | { outcome: 'unknown_token' }
  | { outcome: 'job_mismatch'; retryable: boolean; detail: string };

const TokenJob = z.object({
  id: z.string(),
  state: z.string(),
  correlation_id: z.string(),
  llamaparse_job_id: z.string().nullable(),
});

export async function recordDelivery(
  pool: DatabasePool,
  input: { token: string; envelope: Envelope; llamaparseJobId: string; maxAttempts: number },
): Promise<DeliveryOutcome> {
  return pool.transaction(async (tx) => {
    const job = await tx.maybeOne(sql.type(TokenJob)`
      select id::text, state::text, correlation_id, llamaparse_job_id from jobs where webhook_token = ${input.token}`);
    if (!job) return { outcome: 'unknown_token' };
    if (job.llamaparse_job_id === null) {
      // The upload's answer and its first webhook race: not recorded yet. 409 makes LlamaParse retry.
      return { outcome: 'job_mismatch', retryable: true, detail: 'the LlamaParse job id is not recorded yet' };
    }
    if (job.llamaparse_job_id !== input.llamaparseJobId) {
      return {
        outcome: 'job_mismatch',
        retryable: false,
        detail: `delivery is for ${input.llamaparseJobId.slice(0, 40)}, the job's is another`,
      };
    }
    const known = KNOWN_EVENTS.has(input.envelope.event_type);
    const inserted = await tx.maybeOneFirst(sql.type(z.object({ event_id: z.string() }))`
      insert into webhook_deliveries (event_id, event_type, llamaparse_job_id, job_id, correlation_id, known_event)
      values (${input.envelope.event_id}, ${input.envelope.event_type}, ${input.llamaparseJobId}, ${job.id}::uuid, ${job.correlation_id}, ${known})
      on conflict (event_id) do nothing
      returning event_id`);
    if (inserted === null) return { outcome: 'duplicate', jobId: job.id, acted: false };
    // Pending/running say nothing new: polling or the reconciliation check covers them.
    const act = FINAL_EVENTS.has(input.envelope.event_type) && job.state === 'parse_queued';
    if (act) {
      await enqueue(
        tx,
        'job__parse_collect',
        { jobId: job.id, correlationId: job.correlation_id, polls: 0 },
        {
          jobKey: `collect:${job.id}`,
          jobKeyMode: 'replace',
          runAt: new Date(),
          maxAttempts: input.maxAttempts,
        },
      );
    }
    return { outcome: 'accepted', jobId: job.id, acted: act };
  });
}

export type RefusalReason =
  | 'forbidden_source'
  | 'too_large'
  | 'missing_signature'
  | 'bad_signature'
  | 'malformed'
  | 'unknown_token'
  | 'job_mismatch'
  | 'stale_timestamp';

export async function recordRefusal(
  pool: DatabasePool,
  refusal: { reason: RefusalReason; status: number; address: string | undefined; detail?: string },
) {
  const address = refusal.address?.replace(/^::ffff:/, '') ?? null;
  await pool.query(sql.unsafe`
    insert into webhook_refusal_log (reason, http_status, source_address, detail)
    values (${refusal.reason}, ${refusal.status}, ${address}::inet, ${refusal.detail?.slice(0, 500) ?? null})`);
}
