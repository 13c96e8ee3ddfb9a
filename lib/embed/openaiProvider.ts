// Any OpenAI-compatible /v1/embeddings endpoint through the official `openai` SDK (OpenAI, Azure,
// vLLM, Ollama, TEI, our emulator). SDK retries off: our stage retries own them (see the LlamaParse
// client for why). Token usage comes from the response, for the ledger.
import type OpenAI from 'openai';
import { classifyHttpError } from '../http/classifyHttpError.ts';
import { permanent } from '../errors.ts';
import type { EmbeddingProvider } from './provider.ts';
import { unitLength } from './unitLength.ts';

export type OpenAIEmbeddingConfig = {
  apiKey: string;
  baseURL?: string | undefined;
  model: string;
  dimensions?: number | undefined;
  timeoutMs: number;
  /** OpenAI: 2048 inputs and 300k tokens per request. */
  maxBatch?: number;
  maxBatchTokens?: number;
};

/** Output sizes of well-known models, used when EMBEDDINGS_DIMENSIONS is not set. */
export const DEFAULT_DIMENSIONS: Record<string, number> = {
  'text-embedding-3-small': 1536,
  'text-embedding-3-large': 3072,
  'text-embedding-ada-002': 1536,
};

export function createOpenAIProvider(config: OpenAIEmbeddingConfig): EmbeddingProvider {
  const dimensions = config.dimensions ?? DEFAULT_DIMENSIONS[config.model];
  if (!dimensions)
    throw new Error(`set EMBEDDINGS_DIMENSIONS: the output size of model "${config.model}" is not known`);
  // The SDK is loaded on the first call: a process that never embeds through it does not pay its
  // ~30 MB (every worker and CLI process otherwise would).
  let sdk: Promise<{ client: OpenAI; APIError: typeof OpenAI.APIError }> | undefined;
  const load = () =>
    (sdk ??= import('openai').then(({ default: OpenAISdk }) => ({
      client: new OpenAISdk({
        apiKey: config.apiKey,
        baseURL: config.baseURL,
        timeout: config.timeoutMs,
        maxRetries: 0,
      }),
      APIError: OpenAISdk.APIError,
    })));
  return {
    name: 'openai',
    model: config.model,
    dimensions,
    maxBatch: config.maxBatch ?? 256,
    maxBatchTokens: config.maxBatchTokens ?? 250_000,
    async embed(texts, call) {
      const { client, APIError } = await load();
      try {
        const response = await client.embeddings.create(
          {
            model: config.model,
            input: texts,
            ...(config.dimensions ? { dimensions: config.dimensions } : {}),
          },
          {
            ...(call?.runId ? { headers: { 'x-tvdb-run': call.runId } } : {}),
            ...(call?.timeoutMs ? { timeout: Math.min(call.timeoutMs, config.timeoutMs) } : {}),
          },
        );
        const vectors = [...response.data].sort((a, b) => a.index - b.index).map((d) => unitLength(d.embedding));
        if (vectors.length !== texts.length)
          throw permanent(`asked for ${texts.length} embeddings, got ${vectors.length}`);
        if (vectors.some((v) => v.length !== dimensions))
          throw permanent(
            `the model returned vectors of ${vectors[0]?.length} dimensions, not ${dimensions}: check EMBEDDINGS_DIMENSIONS`,
          );
        return { vectors, promptTokens: response.usage?.prompt_tokens ?? null };
      } catch (error) {
        if (error instanceof APIError) throw classifyHttpError('embeddings', error);
        throw error;
      }
    },
  };
}
