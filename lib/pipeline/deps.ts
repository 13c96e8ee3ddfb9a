// What a stage task needs, built once per process by the worker runtime (worker/buildDeps.ts) and
// passed in (no singletons): the pool, the parser (local or LlamaParse), the embedder, settings.
import type { DatabasePool } from 'slonik';
import type { Config } from '../config.ts';
import type { Logger } from '../log.ts';
import type { DocumentKind } from '../documents/detectType.ts';
import type { LlamaParseClient } from '../parse/llamaparse/client.ts';
import type { EmbeddingProvider } from '../embed/provider.ts';
import type { AttemptsFor } from '../jobs/attempts.ts';
import type { ChunkingOptions } from '../chunk/chunkMarkdown.ts';
import { breakerSettings } from '../resilience/breakers.ts';
import type { CallGuard } from '../resilience/guardedCall.ts';

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

/** What guardedCall needs of the deps: the pool, the log, the breaker settings. */
export const callGuard = (deps: PipelineDeps): CallGuard => ({
  pool: deps.pool,
  log: deps.log,
  breaker: breakerSettings(deps.config),
});
