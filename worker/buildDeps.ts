// Everything a stage task needs, built once per process from configuration and passed in
// (no singletons): the pool, the parser (local or LlamaParse), the embedder, the CPU worker
// threads, settings. Whoever builds them closes them (deps.cpu.close()) when done.
import type { DatabasePool } from 'slonik';
import type { Config } from '../lib/config.ts';
import type { Logger } from '../lib/log.ts';
import type { PipelineDeps } from '../lib/pipeline/deps.ts';
import { chooseParser } from '../lib/parse/chooseParser.ts';
import { chooseEmbedder } from '../lib/embed/chooseEmbedder.ts';
import { attemptsFor } from '../lib/jobs/attempts.ts';
import { createCpuPool, cpuSettings } from '../lib/cpu/pool.ts';
import { latencyMemory } from '../lib/resilience/callDeadline.ts';

export function buildDeps(config: Config, pool: DatabasePool, log: Logger): PipelineDeps {
  const cpu = createCpuPool(cpuSettings(config));
  return {
    pool,
    config,
    log,
    parser: chooseParser(config),
    embedder: chooseEmbedder(config, cpu),
    chunking: { targetTokens: config.CHUNK_TARGET_TOKENS, overlapTokens: config.CHUNK_OVERLAP_TOKENS },
    attempts: attemptsFor(config),
    cpu,
    latency: { embeddings: latencyMemory(), llamaparse: latencyMemory() },
  };
}
