// Everything a stage task needs, built once per process from configuration and passed in
// (no singletons): the pool, the parser (local or LlamaParse), the embedder, settings.
import type { DatabasePool } from 'slonik';
import type { Config } from '../lib/config.ts';
import type { Logger } from '../lib/log.ts';
import type { DocumentKind } from '../lib/documents/detectType.ts';
import { LOCAL_PARSER_KINDS } from '../lib/parse/local/parseLocally.ts';
import { createLlamaParseClient, type LlamaParseClient } from '../lib/parse/llamaparse/client.ts';
import type { EmbeddingProvider } from '../lib/embed/provider.ts';
import { createLocalProvider } from '../lib/embed/localProvider.ts';
import { createOpenAIProvider } from '../lib/embed/openaiProvider.ts';
import type { IntakePolicy } from '../lib/intake/ingestDocument.ts';
import { countTokens } from '../lib/chunk/tokenizer.ts';
import { attemptsFor, type AttemptsFor } from '../lib/jobs/attempts.ts';
import type { ChunkingOptions } from '../lib/chunk/chunkMarkdown.ts';

export type ParserChoice =
  | { parser: 'local'; settingsKey: string; acceptedKinds: readonly DocumentKind[] }
  | {
      parser: 'llamaparse';
      settingsKey: string;
      acceptedKinds: readonly DocumentKind[];
      client: LlamaParseClient;
      /** Set when PUBLIC_BASE_URL is: LlamaParse calls us back; otherwise we poll. */
      webhook: { baseUrl: string; signingSecret: string | undefined } | null;
    };

export type PipelineDeps = {
  pool: DatabasePool;
  config: Config;
  log: Logger;
  parser: ParserChoice;
  embedder: EmbeddingProvider;
  chunking: ChunkingOptions;
  /** Attempts per task (per stage when configured). */
  attempts: AttemptsFor;
};

const LLAMAPARSE_KINDS: readonly DocumentKind[] = ['pdf', 'docx', 'pptx', 'xlsx', 'html', 'markdown', 'text', 'image'];

export function chooseParser(config: Config): ParserChoice {
  if (!config.LLAMA_CLOUD_API_KEY)
    return { parser: 'local', settingsKey: 'local-v1', acceptedKinds: LOCAL_PARSER_KINDS };
  const client = createLlamaParseClient({
    apiKey: config.LLAMA_CLOUD_API_KEY,
    baseURL: config.LLAMA_CLOUD_BASE_URL,
    tier: config.LLAMAPARSE_TIER,
    timeoutMs: config.LLAMAPARSE_TIMEOUT_MS,
  });
  return {
    parser: 'llamaparse',
    settingsKey: client.settingsKey,
    acceptedKinds: LLAMAPARSE_KINDS,
    client,
    webhook: config.PUBLIC_BASE_URL
      ? {
          baseUrl: config.PUBLIC_BASE_URL.replace(/\/+$/, ''),
          signingSecret: config.LLAMAPARSE_WEBHOOK_SECRET?.split(',')[0]?.trim(),
        }
      : null,
  };
}

export function chooseEmbedder(config: Config): EmbeddingProvider {
  if (config.EMBEDDINGS_PROVIDER === 'local') return createLocalProvider(config.EMBEDDINGS_DIMENSIONS ?? 256);
  if (!config.EMBEDDINGS_API_KEY) throw new Error('EMBEDDINGS_PROVIDER=openai needs EMBEDDINGS_API_KEY');
  return createOpenAIProvider({
    apiKey: config.EMBEDDINGS_API_KEY,
    baseURL: config.EMBEDDINGS_BASE_URL,
    model: config.EMBEDDINGS_MODEL ?? 'text-embedding-3-small',
    dimensions: config.EMBEDDINGS_DIMENSIONS,
    timeoutMs: config.EMBEDDINGS_TIMEOUT_MS,
  });
}

export function buildDeps(config: Config, pool: DatabasePool, log: Logger): PipelineDeps {
  return {
    pool,
    config,
    log,
    parser: chooseParser(config),
    embedder: chooseEmbedder(config),
    chunking: { targetTokens: config.CHUNK_TARGET_TOKENS, overlapTokens: config.CHUNK_OVERLAP_TOKENS, countTokens },
    attempts: attemptsFor(config),
  };
}

export function intakePolicy(deps: PipelineDeps): IntakePolicy {
  return {
    maxBytes: deps.config.TVDB_MAX_FILE_BYTES,
    acceptedKinds: deps.parser.acceptedKinds,
    parserName: deps.parser.parser,
    maxAttempts: deps.attempts('job__parse'),
  };
}
