// Chunk stage: split the parsed Markdown into token-counted chunks (in a worker thread) and store
// them, then hand the job to the next stage. Chunks are keyed by (job, ordinal) and chunking is
// deterministic, so a re-run writes nothing new; the same parse result with the same settings is
// chunked once (another job's chunks are copied).
import type { Task } from 'graphile-worker';
import type { PipelineDeps } from '../lib/pipeline/deps.ts';
import { runStage } from '../lib/pipeline/runStage.ts';
import { beginStage, finishStage, inStage } from '../lib/pipeline/stageSteps.ts';
import { loadJob, lockJob } from '../lib/pipeline/jobRecord.ts';
import { loadParsedPagesJson } from '../lib/pipeline/parseResults.ts';
import {
  chunkingSettings,
  copyChunks,
  findChunkDonor,
  recordChunkingSettings,
  storeChunks,
} from '../lib/chunk/chunkRows.ts';
import { stageDef } from '../lib/jobs/stages.ts';
import { permanent } from '../lib/errors.ts';
import { chunkingWithin, embeddingModelLimits } from '../lib/embed/modelLimits.ts';
import { noteTextLeftOut } from '../lib/jobs/jobNotes.ts';

export default function job__chunk(deps: PipelineDeps): Task {
  return (payload, helpers) =>
    runStage('chunk', payload, helpers, deps, async ({ jobId, correlationId, log, run }) => {
      const job = await loadJob(deps.pool, jobId);
      if (!inStage('chunk', job.state)) return log.info({ state: job.state }, 'chunk: nothing to do');
      const parseResultId = job.parse_result_id;
      if (parseResultId === null) throw permanent('the job has no parse result to chunk');
      await beginStage(run, jobId);
      // No chunk over the embedding model's input limit (its catalog row).
      const limits = await embeddingModelLimits(deps.pool, deps.embedder.model);
      const settings = chunkingSettings(chunkingWithin(deps.chunking, limits));
      const donor = await findChunkDonor(deps.pool, { parseResultId, settings, exceptJobId: jobId });
      const made = donor
        ? null
        : await deps.cpu.chunk({ pagesJson: await loadParsedPagesJson(deps.pool, parseResultId), ...settings });
      if (made && !made.count) throw permanent('the parsed document has no text to chunk');
      const summary = await run.write(async (tx) => {
        if ((await lockJob(tx, jobId)).state !== stageDef('chunk').inProgress) return null; // another run finished first
        const language = deps.config.TVDB_TEXT_SEARCH_LANGUAGE;
        const stored = made ?? (await copyChunks(tx, donor!, jobId, language));
        if (made) await storeChunks(tx, jobId, made.rowsJson, language);
        await recordChunkingSettings(tx, jobId, settings);
        const { count: chunks, tokens, oversized } = stored;
        const cleanup = made?.cleanup;
        const detail = {
          chunks,
          tokens,
          ...(cleanup
            ? {
                tokens_before_cleanup: cleanup.tokensBefore,
                tokens_after_cleanup: cleanup.tokensAfter,
                images: cleanup.images,
              }
            : {}),
          ...(donor ? { reused_chunks_of: donor } : {}),
          ...(oversized.length ? { oversized } : {}),
        };
        if (cleanup && (cleanup.runs > 0 || cleanup.images > 0)) await noteTextLeftOut(tx, jobId, cleanup);
        await finishStage(tx, 'chunk', { jobId, correlationId }, detail, deps.attempts);
        return stored;
      });
      if (!summary) return;
      if (summary.oversized.length)
        log.warn(
          { ordinals: summary.oversized },
          'chunk: unsplittable runs longer than the chunk limit were kept whole',
        );
      log.info({ chunks: summary.count, reused_from: donor }, 'chunk: chunks stored');
    });
}
