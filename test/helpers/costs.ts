// Spend for the cost tests, written to the ledger as the embed stage writes it.
import { sql, type CommonQueryMethods } from 'slonik';
import { z } from 'zod';
import { recordCost } from '../../lib/costs/budget.ts';

/** `tokens` embedding tokens billed to a job at `costMicroUsd`: exact, with no reservation. */
export function recordEmbeddingCost(
  db: CommonQueryMethods,
  jobId: string,
  tokens: number,
  costMicroUsd: number,
  correlationId: string | null = null,
) {
  return recordCost(db, {
    service: 'embeddings',
    operation: 'embed',
    units: tokens,
    unit: 'tokens',
    costMicroUsd,
    estimated: false,
    jobId,
    correlationId,
    externalId: null,
    reservationId: null,
  });
}

/** Per service: the ledger's total, the part of it that is estimates (calls whose outcome was
 * unknown, net of estimates their real bill replaced) and what is still pending on live holds.
 * Exactly once means billed <= total + pending (nothing paid and unrecorded) and total <= billed +
 * estimated + pending (nothing recorded twice: beyond what was billed, only estimates of unknowns). */
export async function ledgerBounds(db: CommonQueryMethods, service: 'llamaparse' | 'embeddings') {
  return db.one(sql.type(z.object({ total: z.number(), estimated: z.number(), pending: z.number() }))`
    select coalesce(sum(cost_micro_usd), 0)::float8 as total,
           coalesce(sum(cost_micro_usd) filter (where estimated), 0)::float8 as estimated,
           (select coalesce(sum(pending_call_micro_usd), 0) from budget_reservations
            where service = ${service} and (status = 'held' or pending_call_micro_usd > 0))::float8 as pending
    from cost_ledger where service = ${service}`);
}
