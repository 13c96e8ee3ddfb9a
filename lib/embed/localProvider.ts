import type { EmbeddingProvider } from './provider.ts';
import { hashingEmbedding } from './hashingEmbedder.ts';

export const LOCAL_MODEL = 'local-hashing-v1';

/** `compute`: where the vectors are computed (the CPU worker threads); default: in this thread. */
export function createLocalProvider(
  dimensions = 256,
  compute: (texts: string[]) => Promise<number[][]> = async (texts) =>
    texts.map((t) => hashingEmbedding(t, dimensions)),
): EmbeddingProvider {
  return {
    name: 'local',
    model: LOCAL_MODEL,
    dimensions,
    maxBatch: 256,
    maxBatchTokens: Number.MAX_SAFE_INTEGER,
    embed: async (texts) => ({ vectors: await compute(texts), promptTokens: null }),
  };
}
