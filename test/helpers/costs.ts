// Spend for the cost tests, written to the ledger as the embed stage writes it.
import type { CommonQueryMethods } from 'slonik';
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
