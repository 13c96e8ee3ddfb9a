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
  /** `call.runId` names the stage run making the call (sent as X-TVDB-Run: tracing, and how the
   * tests prove that two runs never call at once); `call.timeoutMs`: this call's own deadline
   * (lib/resilience/callDeadline.ts), at most the configured timeout. */
  embed(texts: string[], call?: { runId?: string; timeoutMs?: number }): Promise<EmbeddingResult>;
};
