// The embedder configuration selects: the local hashing embedder, or an OpenAI-compatible endpoint.
import type { Config } from '../config.ts';
import { createLocalProvider } from './localProvider.ts';
import { createOpenAIProvider } from './openaiProvider.ts';
import type { EmbeddingProvider } from './provider.ts';

/** `cpu`: where the local embedder computes (worker threads); without it, in this thread. */
export function chooseEmbedder(
  config: Config,
  cpu?: { embedLocal(texts: string[], dimensions: number): Promise<number[][]> },
): EmbeddingProvider {
  if (config.EMBEDDINGS_PROVIDER === 'local') {
    const dimensions = config.EMBEDDINGS_DIMENSIONS ?? 256;
    return createLocalProvider(dimensions, cpu && ((texts) => cpu.embedLocal(texts, dimensions)));
  }
  if (!config.EMBEDDINGS_API_KEY) throw new Error('EMBEDDINGS_PROVIDER=openai needs EMBEDDINGS_API_KEY');
  return createOpenAIProvider({
    apiKey: config.EMBEDDINGS_API_KEY,
    baseURL: config.EMBEDDINGS_BASE_URL,
    model: config.EMBEDDINGS_MODEL ?? 'text-embedding-3-small',
    dimensions: config.EMBEDDINGS_DIMENSIONS,
    timeoutMs: config.EMBEDDINGS_TIMEOUT_MS,
  });
}
