// The query's vector, from the configured embedder. A paid provider's call is treated like the
// embed stage's: its estimate is reserved first (a reservation owned by the request, since a
// search has no job), the call goes through the shared rate limits and circuit breaker, and the
// ledger row and the settlement are written in one transaction after it. Like the embed stage's,
// the call is marked pending on its reservation just before it is made (the most it can bill): a
// call refused with an answer (or never made) is cleared and billed nothing; one whose outcome is
// unknown (timed out, connection lost) is charged as estimated at once; a process that dies
// mid-call leaves the pending call to be charged when the hold expires. Nothing external happens
// inside a transaction.
import type { DatabasePool } from 'slonik';
import {
  beginPaidCall,
  chargeRequestPaidCall,
  clearRequestPaidCall,
  recordCost,
  reserveRequestBudget,
  settleReservation,
} from '../costs/budget.ts';
import { embeddingPrice } from '../costs/embeddingPrice.ts';
import { embeddingModelLimits } from '../embed/modelLimits.ts';
import { tokenCostMicroUsd } from '../costs/pricing.ts';
import type { EmbeddingProvider, EmbeddingResult } from '../embed/provider.ts';
import { DeferError, StageError } from '../errors.ts';
import type { Logger } from '../log.ts';
import type { BreakerSettings } from '../resilience/breakers.ts';
import { guardedCall } from '../resilience/guardedCall.ts';
import { SearchError } from './searchError.ts';

export type QueryEmbedding = {
  pool: DatabasePool;
  log: Logger;
  embedder: EmbeddingProvider;
  breaker: BreakerSettings;
  reservationTtlS: number;
  cpu?: { countTokens(texts: string[]): Promise<number[]> };
};

export async function embedQuery(
  deps: QueryEmbedding,
  text: string,
  request: { requestId: string; correlationId: string },
): Promise<{ vector: number[]; costMicroUsd: number }> {
  const { embedder, pool } = deps;
  if (embedder.name !== 'openai') return { vector: (await embedder.embed([text])).vectors[0]!, costMicroUsd: 0 };
  const tokens = await queryTokens(deps, text);
  // The provider refuses an input over the model's limit (400): say so before anything is reserved.
  const { maxInputTokens } = await embeddingModelLimits(pool, embedder.model).catch((error: Error) => {
    throw new SearchError(500, 'embedding_failed', error.message);
  });
  if (tokens > maxInputTokens)
    throw new SearchError(
      400,
      'bad_request',
      `query: ${tokens} tokens; the embedding model ${embedder.model} takes at most ${maxInputTokens}: shorten the query`,
    );
  const price = await embeddingPrice(pool, embedder.model).catch((error: Error) => {
    throw new SearchError(500, 'embedding_failed', error.message);
  });
  const estimateMicroUsd = tokenCostMicroUsd(tokens, price);
  const reservation = await reserveRequestBudget(pool, {
    requestId: request.requestId,
    stage: 'search',
    service: 'embeddings',
    amountMicroUsd: estimateMicroUsd,
    ttlS: deps.reservationTtlS,
  });
  if (!reservation.ok)
    throw new SearchError(402, 'budget_exhausted', `no budget left to embed the query: ${reservation.refusedBy}`);
  await beginPaidCall(pool, reservation.reservationId, estimateMicroUsd, null);
  let result: EmbeddingResult;
  try {
    result = await guardedCall(
      { pool, log: deps.log, breaker: deps.breaker },
      'embeddings',
      'embed_query',
      () => embedder.embed([text], { runId: `search:${request.requestId}` }), // X-TVDB-Run: who called
      [
        ['embeddings:requests', 1],
        ['embeddings:tokens', tokens],
      ],
    );
  } catch (error) {
    // Refused with an answer, or not called at all (breaker, rate limit): nothing billed. Anything
    // else (a timeout, a lost connection) may have billed: charged as estimated.
    const answered = error instanceof DeferError || (error instanceof StageError && error.status !== undefined);
    if (answered) {
      await clearRequestPaidCall(pool, reservation.reservationId);
      await settleReservation(pool, reservation.reservationId);
    } else {
      await chargeRequestPaidCall(
        pool,
        reservation.reservationId,
        'the query embedding call failed without an answer; it may have been billed',
      );
      deps.log.warn(
        { err: error, estimate_micro_usd: estimateMicroUsd },
        'search: query embedding charged as estimated',
      );
    }
    throw asSearchError(error);
  }
  const billed = result.promptTokens ?? tokens;
  const costMicroUsd = tokenCostMicroUsd(billed, price);
  await pool.transaction(async (tx) => {
    await recordCost(tx, {
      service: 'embeddings',
      operation: 'embed_query',
      units: billed,
      unit: 'tokens',
      costMicroUsd,
      estimated: result.promptTokens === null,
      jobId: null,
      correlationId: request.correlationId,
      externalId: embedder.model,
      reservationId: reservation.reservationId,
    });
    await settleReservation(tx, reservation.reservationId);
  });
  return { vector: result.vectors[0]!, costMicroUsd };
}

/** The query's tokens, counted in the CPU threads when there are some (the server's), with their
 * time and memory limits; in-process otherwise (the CLI), the tokenizer loaded on first use (its
 * tables cost ~60 MB, and only a paid embedder needs a count). */
async function queryTokens(deps: QueryEmbedding, text: string): Promise<number> {
  if (!deps.cpu) return (await import('../chunk/tokenizer.ts')).countTokens(text);
  try {
    return (await deps.cpu.countTokens([text]))[0]!;
  } catch (error) {
    throw new SearchError(500, 'embedding_failed', `counting the query's tokens failed: ${(error as Error).message}`);
  }
}

/** A wait (open breaker, rate limit) or a transient failure: 503, try again; a refusal: 502. */
function asSearchError(error: unknown): Error {
  if (error instanceof DeferError)
    return new SearchError(
      503,
      'embeddings_unavailable',
      `the embeddings provider is not being called right now (${String(error.note.event)}); try again in ${error.delayS} s`,
      error.delayS,
    );
  if (error instanceof StageError) {
    if (error.errorClass === 'permanent')
      return new SearchError(502, 'embedding_failed', `the embeddings provider refused the query: ${error.message}`);
    const retryAfterS = error.retryAfterMs === undefined ? undefined : Math.ceil(error.retryAfterMs / 1000);
    return new SearchError(
      503,
      'embeddings_unavailable',
      `the embeddings provider failed: ${error.message}; try again`,
      retryAfterS,
    );
  }
  return error as Error;
}
