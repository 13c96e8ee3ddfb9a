// The embed stage's paid loop: batches within the provider's limits, each through guardedCall when
// the provider is paid, and each batch's vectors with its ledger row in one transaction (a crash
// loses at most the batch in flight and never bills it twice). Returns the tokens billed.
import { beginPaidCall, clearPaidCall, recordCost } from '../costs/budget.ts';
import { DeferError, StageError } from '../errors.ts';
import { tokenCostMicroUsd } from '../costs/pricing.ts';
import { batchByLimits } from '../embed/batchByLimits.ts';
import { storeEmbeddings, type MissingEmbedding } from '../embed/embeddingRows.ts';
import type { Logger } from '../log.ts';
import type { ModelLimits } from '../embed/modelLimits.ts';
import { guardedCall } from '../resilience/guardedCall.ts';
import { callGuard, type PipelineDeps } from './deps.ts';
import type { StageRun } from './stageRun.ts';

export const sumTokens = (rows: ReadonlyArray<{ token_count: number }>) => rows.reduce((n, m) => n + m.token_count, 0);

export async function embedMissing(
  deps: PipelineDeps,
  job: { jobId: string; correlationId: string },
  missing: readonly MissingEmbedding[],
  billing: { paid: boolean; pricePerMillion: number; reservationId: number | null },
  run: StageRun,
  log: Logger,
  limits: ModelLimits,
): Promise<number> {
  const { embedder } = deps;
  const { model, dimensions } = embedder;
  let promptTokens = 0;
  // The catalog's limits for the model, and the provider's own (smaller) batch sizes.
  const batches = batchByLimits([...missing], {
    maxInputTokens: limits.maxInputTokens,
    maxInputsPerRequest: Math.min(limits.maxInputsPerRequest, embedder.maxBatch),
    maxTokensPerRequest: Math.min(limits.maxTokensPerRequest, embedder.maxBatchTokens),
  });
  for (const [i, batch] of batches.entries()) {
    const embed = () =>
      embedder.embed(
        batch.map((m) => m.content),
        { runId: run.id },
      );
    const buckets: Array<[string, number]> = [
      ['embeddings:requests', 1],
      ['embeddings:tokens', sumTokens(batch)],
    ];
    // Nobody else may start this call while it may still be answered: the lease covers its timeout.
    if (billing.paid) await run.confirm(deps.config.EMBEDDINGS_TIMEOUT_MS);
    // Pending on the reservation until its ledger row is written: a batch answered just before the
    // process died is charged (estimated) by the next run or at expiry, never left unrecorded.
    if (billing.paid && billing.reservationId !== null)
      await beginPaidCall(
        deps.pool,
        billing.reservationId,
        tokenCostMicroUsd(sumTokens(batch), billing.pricePerMillion),
        run.token,
      );
    const result = billing.paid
      ? await guardedCall(callGuard(deps), 'embeddings', 'embed', embed, buckets).catch(async (error: unknown) => {
          // Not made (deferred) or refused with an answer (the provider said no): nothing was billed.
          if (error instanceof DeferError || (error instanceof StageError && error.status !== undefined))
            await clearPaidCall(deps.pool, job.jobId, 'embed', run.token);
          throw error;
        })
      : await embed();
    const tokens = result.promptTokens ?? sumTokens(batch);
    promptTokens += tokens;
    await run.write(async (tx) => {
      await storeEmbeddings(
        tx,
        model,
        dimensions,
        batch.map((m, j) => ({ sha: m.sha, vector: result.vectors[j]! })),
      );
      if (billing.paid)
        await recordCost(tx, {
          service: 'embeddings',
          operation: 'embed',
          units: tokens,
          unit: 'tokens',
          costMicroUsd: tokenCostMicroUsd(tokens, billing.pricePerMillion),
          estimated: result.promptTokens === null,
          jobId: job.jobId,
          correlationId: job.correlationId,
          externalId: model,
          reservationId: billing.reservationId,
          leaseToken: run.token,
        });
    });
    log.debug({ batch: i + 1, batches: batches.length }, 'embed: batch stored');
  }
  return promptTokens;
}
