// Embed stage: vectors for the job's chunks, then complete. Only content not yet embedded with this
// model and size is sent (reuse before paying). A paid provider's estimate is reserved first
// (without room the job waits in its queued state); embedMissing bills each batch with its vectors.
import type { Task } from 'graphile-worker';
import type { PipelineDeps } from '../lib/pipeline/deps.ts';
import { runStage } from '../lib/pipeline/runStage.ts';
import { beginStage, finishStage, inStage } from '../lib/pipeline/stageSteps.ts';
import { loadJob, lockJob } from '../lib/pipeline/jobRecord.ts';
import { embedMissing, sumTokens } from '../lib/pipeline/embedMissing.ts';
import { countDistinctChunkContents, missingEmbeddings, recordEmbeddingModel } from '../lib/embed/embeddingRows.ts';
import { guardSpend, spendSettings } from '../lib/costs/guardSpend.ts';
import { embeddingPrice } from '../lib/costs/embeddingPrice.ts';
import { settleReservation } from '../lib/costs/budget.ts';
import { tokenCostMicroUsd } from '../lib/costs/pricing.ts';
import { stageDef } from '../lib/jobs/stages.ts';
import { embeddingModelLimits } from '../lib/embed/modelLimits.ts';
import { permanent } from '../lib/errors.ts';

export default function job__embed(deps: PipelineDeps): Task {
  return (payload, helpers) =>
    runStage('embed', payload, helpers, deps, async ({ jobId, correlationId, payload: p, log, run }) => {
      const job = await loadJob(deps.pool, jobId);
      if (!inStage('embed', job.state)) return log.info({ state: job.state }, 'embed: nothing to do');
      const { model, dimensions } = deps.embedder;
      const missing = await missingEmbeddings(deps.pool, jobId, model, dimensions);
      const limits = await embeddingModelLimits(deps.pool, model);
      const tooLong = missing.filter((m) => m.token_count > limits.maxInputTokens).length;
      if (tooLong)
        throw permanent(
          `${tooLong} chunk(s) are over ${model}'s limit of ${limits.maxInputTokens} tokens per input (chunked before the limit applied): ingest the document again to chunk it within the limit`,
        );
      const paid = deps.embedder.name === 'openai';
      const billed = paid && missing.length > 0;
      const pricePerMillion = billed ? await embeddingPrice(deps.pool, model) : 0;
      const reservationId = billed
        ? await guardSpend(deps.pool, spendSettings(deps.config), {
            jobId,
            stage: 'embed',
            service: 'embeddings',
            amountMicroUsd: tokenCostMicroUsd(sumTokens(missing), pricePerMillion),
            slowed: Boolean(p.slowed),
            leaseToken: run.token,
          })
        : null;
      await beginStage(run, jobId, { model, dimensions });
      const billing = { paid, pricePerMillion, reservationId };
      const promptTokens = await embedMissing(deps, { jobId, correlationId }, missing, billing, run, log, limits);
      const reused = (await countDistinctChunkContents(deps.pool, jobId)) - missing.length;
      await run.write(async (tx) => {
        if ((await lockJob(tx, jobId)).state !== stageDef('embed').inProgress) return;
        if (reservationId !== null) await settleReservation(tx, reservationId);
        await recordEmbeddingModel(tx, jobId, model, dimensions);
        const detail = { model, embedded: missing.length, reused, ...(paid ? { prompt_tokens: promptTokens } : {}) };
        await finishStage(tx, 'embed', { jobId, correlationId }, detail, deps.attempts);
      });
      log.info({ embedded: missing.length, reused, model }, 'embed: complete');
    });
}
