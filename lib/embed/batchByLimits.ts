// Pure: consecutive batches within a model's per-request limits, by construction: at most
// maxInputsPerRequest items and maxTokensPerRequest tokens summed each. An item over the per-input
// limit cannot be sent at all: it is refused before any batch is made (RangeError), so no request
// the provider would refuse is ever made (and nothing is billed for it).
import type { ModelLimits } from './modelLimits.ts';

export function batchByLimits<T extends { token_count: number }>(items: readonly T[], limits: ModelLimits): T[][] {
  const tooLong = items.filter(
    (i) => i.token_count > limits.maxInputTokens || i.token_count > limits.maxTokensPerRequest,
  );
  if (tooLong.length)
    throw new RangeError(
      `${tooLong.length} input(s) over the model's limit of ${limits.maxInputTokens} tokens (largest ${Math.max(...tooLong.map((i) => i.token_count))})`,
    );
  const batches: T[][] = [];
  let current: T[] = [];
  let tokens = 0;
  for (const item of items) {
    if (
      current.length &&
      (current.length >= limits.maxInputsPerRequest || tokens + item.token_count > limits.maxTokensPerRequest)
    ) {
      batches.push(current);
      current = [];
      tokens = 0;
    }
    current.push(item);
    tokens += item.token_count;
  }
  if (current.length) batches.push(current);
  return batches;
}
