// The only database work of a webhook delivery: one row, and the collect task enqueued (coalesced
// per job). Deliveries are recorded in groups (lib/webhooks/groupCommit.ts): one statement (SQL
// function record_webhook_deliveries, committed with synchronous_commit = off) for all the
// deliveries that arrived together, each answered with its own outcome. The collect task then reads
// LlamaParse's own status, so the order or number of deliveries does not matter.
import { sql, type DatabasePool } from 'slonik';
import { z } from 'zod';
import { FINAL_EVENTS, KNOWN_EVENTS, type Envelope } from './envelope.ts';

export type DeliveryOutcome =
  | { outcome: 'accepted' | 'duplicate'; jobId: string; acted: boolean }
  | { outcome: 'unknown_token' }
  | { outcome: 'job_mismatch'; retryable: boolean; detail: string };

export type Delivery = { token: string; envelope: Envelope; llamaparseJobId: string };

const Row = z.object({
  ordinal: z.number(),
  outcome: z.string(),
  job_id: z.string().nullable(),
  acted: z.boolean(),
  detail: z.string().nullable(),
});

/** Deliveries recorded in one statement; the outcomes in the order of `deliveries`. */
export async function recordDeliveries(
  pool: DatabasePool,
  deliveries: readonly Delivery[],
  maxAttempts: number,
): Promise<DeliveryOutcome[]> {
  const input = deliveries.map((d) => ({
    token: d.token,
    event_id: d.envelope.event_id,
    event_type: d.envelope.event_type,
    llamaparse_job_id: d.llamaparseJobId,
    known: KNOWN_EVENTS.has(d.envelope.event_type),
    final: FINAL_EVENTS.has(d.envelope.event_type),
  }));
  const rows = await pool.any(sql.type(Row)`
    select ordinal, outcome, job_id::text, acted, detail
    from record_webhook_deliveries(${sql.jsonb(input)}, ${maxAttempts})`);
  const outcomes: DeliveryOutcome[] = new Array(deliveries.length);
  for (const row of rows) outcomes[row.ordinal - 1] = toOutcome(row);
  return outcomes;
}

function toOutcome(row: z.infer<typeof Row>): DeliveryOutcome {
  switch (row.outcome) {
    case 'unknown_token':
      return { outcome: 'unknown_token' };
    case 'not_recorded_yet':
    case 'job_mismatch':
      return { outcome: 'job_mismatch', retryable: row.outcome === 'not_recorded_yet', detail: row.detail ?? '' };
    default:
      return { outcome: row.outcome === 'duplicate' ? 'duplicate' : 'accepted', jobId: row.job_id!, acted: row.acted };
  }
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

/** Counted always; stored as a row while the source is within `rowsPerMinute` (SQL record_webhook_refusal). */
export async function recordRefusal(
  pool: DatabasePool,
  refusal: { reason: RefusalReason; status: number; address: string | undefined; detail?: string },
  rowsPerMinute: number,
): Promise<boolean> {
  const address = refusal.address?.replace(/^::ffff:/, '') ?? null;
  const detail = refusal.detail?.replaceAll('\u0000', '').slice(0, 500) ?? null;
  return pool.oneFirst(sql.type(z.object({ stored: z.boolean() }))`
    select record_webhook_refusal(${refusal.reason}, ${refusal.status}, ${address}::inet, ${detail}, ${rowsPerMinute}) as stored`);
}

/** The form of every token tvdb issues (base64url); anything else is unknown without a look-up. */
export const TOKEN_SHAPE = /^[\w-]{1,128}$/;
