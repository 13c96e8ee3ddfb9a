// Pure: consecutive batches of at most maxItems items and maxTokens tokens (an item larger than
// maxTokens goes alone).
export function batchByLimits<T extends { token_count: number }>(
  items: readonly T[],
  maxItems: number,
  maxTokens: number,
): T[][] {
  const batches: T[][] = [];
  let current: T[] = [];
  let tokens = 0;
  for (const item of items) {
    if (current.length && (current.length >= maxItems || tokens + item.token_count > maxTokens)) {
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
