import type { EmbeddingProvider } from './provider.ts';
import { hashingEmbedding } from './hashingEmbedder.ts';

export const LOCAL_MODEL = 'local-hashing-v1';

export function createLocalProvider(dimensions = 256): EmbeddingProvider {
  return {
    name: 'local',
    model: LOCAL_MODEL,
    dimensions,
    maxBatch: 256,
    maxBatchTokens: Number.MAX_SAFE_INTEGER,
    embed: async (texts) => ({ vectors: texts.map((t) => hashingEmbedding(t, dimensions)), promptTokens: null }),
  };
}
