// An embedding model's limits, from the catalog its price comes from (price_catalog, units
// max_input_tokens, max_inputs_per_request, max_tokens_per_request; migration 000083). Without
// them no chunk or batch can be known to fit, so the stage stops (permanently) with what to do.
import { sql, type CommonQueryMethods } from 'slonik';
import { z } from 'zod';
import { permanent } from '../errors.ts';

export type ModelLimits = { maxInputTokens: number; maxInputsPerRequest: number; maxTokensPerRequest: number };

export async function embeddingModelLimits(db: CommonQueryMethods, model: string): Promise<ModelLimits> {
  const row = await db.maybeOne(
    sql.type(
      z.object({
        max_input_tokens: z.bigint(),
        max_inputs_per_request: z.bigint(),
        max_tokens_per_request: z.bigint(),
      }),
    )`select * from embedding_model_limits(${model})`,
  );
  if (!row)
    throw permanent(
      `price_catalog has no limits for embedding model "${model}": insert its max_input_tokens, max_inputs_per_request and max_tokens_per_request (see README, Costs)`,
    );
  return {
    maxInputTokens: Number(row.max_input_tokens),
    maxInputsPerRequest: Number(row.max_inputs_per_request),
    maxTokensPerRequest: Number(row.max_tokens_per_request),
  };
}

/** Chunk sizes that fit the model: the target at most the model's input limit, the overlap under
 * half of it (the chunker's rule). */
export function chunkingWithin<T extends { targetTokens: number; overlapTokens: number }>(
  chunking: T,
  limits: ModelLimits,
): T {
  const targetTokens = Math.min(chunking.targetTokens, limits.maxInputTokens);
  const overlapTokens = Math.min(chunking.overlapTokens, Math.ceil(targetTokens / 2) - 1);
  return { ...chunking, targetTokens, overlapTokens };
}
