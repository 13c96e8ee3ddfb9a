// What a stage task needs, built once per process by the worker runtime (worker/buildDeps.ts) and
// passed in (no singletons): the pool, the parser (local or LlamaParse), the embedder, settings.
import type { DatabasePool } from 'slonik';
import type { Config } from '../config.ts';
import type { Logger } from '../log.ts';
import type { ParserChoice } from '../parse/chooseParser.ts';
import type { EmbeddingProvider } from '../embed/provider.ts';
import type { AttemptsFor } from '../jobs/attempts.ts';
import type { ChunkingOptions } from '../chunk/chunkMarkdown.ts';
import { breakerSettings } from '../resilience/breakers.ts';
import type { CallGuard } from '../resilience/guardedCall.ts';
import type { CpuPool } from '../cpu/pool.ts';
import type { LatencyMemory } from '../resilience/callDeadline.ts';

export type PipelineDeps = {
  pool: DatabasePool;
  config: Config;
  log: Logger;
  parser: ParserChoice;
  embedder: EmbeddingProvider;
  /** Chunk sizes; the tokenizer itself lives in the CPU threads (it holds ~60 MB of tables). */
  chunking: Pick<ChunkingOptions, 'targetTokens' | 'overlapTokens'>;
  /** Attempts per task (per stage when configured). */
  attempts: AttemptsFor;
  /** Worker threads for CPU-heavy work (parsing, chunking, tokens, the local embedder). */
  cpu: CpuPool;
  /** Each paid service's recent latencies in this process: a paid call's own deadline. */
  latency: { embeddings: LatencyMemory; llamaparse: LatencyMemory };
};

/** What guardedCall needs of the deps: the pool, the log, the breaker settings. */
export const callGuard = (deps: PipelineDeps): CallGuard => ({
  pool: deps.pool,
  log: deps.log,
  breaker: breakerSettings(deps.config),
});
