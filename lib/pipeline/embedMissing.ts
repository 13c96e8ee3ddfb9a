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
    // A paid call's own deadline, from its tokens and the provider's recent latency (at most
    // EMBEDDINGS_TIMEOUT_MS): the call is aborted then, so its lease need cover no more.
    const tokens = sumTokens(batch);
    const deadlineMs = deps.latency.embeddings.deadlineMs(tokens, deps.config.EMBEDDINGS_TIMEOUT_MS);
    const embed = async () => {
      const started = performance.now();
      try {
        const answer = await embedder.embed(
          batch.map((m) => m.content),
          { runId: run.id, timeoutMs: deadlineMs },
        );
        deps.latency.embeddings.observe(performance.now() - started, tokens);
        return answer;
      } catch (error) {
        if (performance.now() - started >= deadlineMs - 50) deps.latency.embeddings.timedOut(deadlineMs, tokens);
        throw error;
      }
    };
    const buckets: Array<[string, number]> = [
      ['embeddings:requests', 1],
      ['embeddings:tokens', tokens],
    ];
    // Nobody else may start this call while it may still be answered: the lease covers its timeout.
    if (billing.paid) await run.confirm(deadlineMs);
    // Pending on the reservation until its ledger row is written: a batch answered just before the
    // process died is charged (estimated) by the next run or at expiry, never left unrecorded.
    if (billing.paid && billing.reservationId !== null)
      await beginPaidCall(
        deps.pool,
        billing.reservationId,
        tokenCostMicroUsd(tokens, billing.pricePerMillion),
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
    const billed = result.promptTokens ?? tokens;
    promptTokens += billed;
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
          units: billed,
          unit: 'tokens',
          costMicroUsd: tokenCostMicroUsd(billed, billing.pricePerMillion),
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
