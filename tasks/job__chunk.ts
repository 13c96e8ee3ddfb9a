// Chunk stage: split the parsed Markdown into token-counted chunks and store them, then hand the
// job to the embed stage. Chunks are keyed by (job, ordinal) and chunking is deterministic, so a
// re-run after a crash writes nothing new; the same parse result with the same settings is chunked
// once (another job's chunks are copied).
import type { Task } from 'graphile-worker';
import type { PipelineDeps } from '../lib/pipeline/deps.ts';
import { runStage } from '../lib/pipeline/runStage.ts';
import { beginStage, finishStage, inStage } from '../lib/pipeline/stageSteps.ts';
import { loadJob, lockJob } from '../lib/pipeline/jobRecord.ts';
import { loadParsedPages } from '../lib/pipeline/parseResults.ts';
import { chunkMarkdown } from '../lib/chunk/chunkMarkdown.ts';
import { chunkingSettings, findChunkDonor, loadChunks, storeChunks } from '../lib/chunk/chunkRows.ts';
import { stageDef } from '../lib/jobs/stages.ts';
import { permanent } from '../lib/errors.ts';

export default function job__chunk(deps: PipelineDeps): Task {
  return (payload, helpers) =>
    runStage('chunk', payload, helpers, deps, async ({ jobId, correlationId, log, run }) => {
      const job = await loadJob(deps.pool, jobId);
      if (!inStage('chunk', job.state)) return log.info({ state: job.state }, 'chunk: nothing to do');
      const parseResultId = job.parse_result_id;
      if (parseResultId === null) throw permanent('the job has no parse result to chunk');
      await beginStage(run, jobId);
      const settings = chunkingSettings(deps.chunking);
      const donor = await findChunkDonor(deps.pool, { parseResultId, settings, exceptJobId: jobId });
      const chunks = donor
        ? await loadChunks(deps.pool, donor)
        : chunkMarkdown(await loadParsedPages(deps.pool, parseResultId), deps.chunking);
      if (!chunks.length) throw permanent('the parsed document has no text to chunk');
      const oversized = chunks.filter((c) => c.oversized).map((c) => c.ordinal);
      if (oversized.length)
        log.warn({ ordinals: oversized }, 'chunk: unsplittable runs longer than the chunk limit were kept whole');
      const tokens = chunks.reduce((n, c) => n + c.tokenCount, 0);
      const moved = await run.write(async (tx) => {
        if ((await lockJob(tx, jobId)).state !== stageDef('chunk').inProgress) return false; // another run finished first
        await storeChunks(tx, jobId, chunks, settings);
        const detail = {
          chunks: chunks.length,
          tokens,
          ...(donor ? { reused_chunks_of: donor } : {}),
          ...(oversized.length ? { oversized } : {}),
        };
        await finishStage(tx, 'chunk', { jobId, correlationId }, detail, deps.attempts);
        return true;
      });
      if (moved) log.info({ chunks: chunks.length, reused_from: donor }, 'chunk: chunks stored');
    });
}
