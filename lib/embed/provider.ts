// One interface for embedding providers. `model` and `dimensions` identify the vector space: a
// chunk already embedded with the same pair is never sent again.
export type EmbeddingResult = { vectors: number[][]; promptTokens: number | null };

export type EmbeddingProvider = {
  readonly name: 'local' | 'openai';
  readonly model: string;
  readonly dimensions: number;
  /** Most inputs per request (the provider's limit). */
  readonly maxBatch: number;
  /** Most tokens per request (the provider's limit). */
  readonly maxBatchTokens: number;
  embed(texts: string[]): Promise<EmbeddingResult>;
};
