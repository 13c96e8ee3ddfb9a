// Embed stage: embedding_queued -> embedding_in_progress -> embeddings_stored -> complete. Only
// content not yet embedded with this model and dimension is sent (reuse before paying). A paid
// provider's estimate is reserved first (without room the job waits in embedding_queued); each
// batch's vectors and its ledger row are written in one transaction, so a crash loses at most the
// batch in flight and never bills it twice.
import type { Task } from 'graphile-worker';
import { guardedCall } from '../lib/resilience/guardedCall.ts';
import { sql } from 'slonik';
import { z } from 'zod';
import type { PipelineDeps } from '../lib/pipeline/deps.ts';
import { runStage } from '../lib/pipeline/runStage.ts';
import { loadJob, lockJob } from '../lib/pipeline/jobRecord.ts';
import { advanceJob } from '../lib/jobs/advanceJob.ts';
import { batchByLimits } from '../lib/embed/batchByLimits.ts';
import { guardSpend } from '../lib/costs/guardSpend.ts';
import { priceAt, recordCost, settleReservation } from '../lib/costs/budget.ts';
import { tokenCostMicroUsd } from '../lib/costs/pricing.ts';
import { permanent } from '../lib/errors.ts';

const Missing = z.object({ sha: z.string(), content: z.string(), token_count: z.number() });

export function job__embed(deps: PipelineDeps): Task {
  return (payload, helpers) =>
    runStage('embed', payload, helpers, deps, async ({ jobId, correlationId, payload: p, log }) => {
      const job = await loadJob(deps.pool, jobId);
      if (job.state !== 'embedding_queued' && job.state !== 'embedding_in_progress')
        return log.info({ state: job.state }, 'embed: nothing to do');
      const { model, dimensions } = deps.embedder;
      const missing = await deps.pool.any(sql.type(Missing)`
        select distinct on (c.content_sha256) encode(c.content_sha256, 'hex') as sha, c.content, c.token_count
        from chunks c
        where c.job_id = ${jobId}::uuid
          and not exists (select 1 from embeddings e
                          where e.content_sha256 = c.content_sha256 and e.model = ${model} and e.dimensions = ${dimensions})
        order by c.content_sha256`);
      const paid = deps.embedder.name === 'openai';
      let reservationId: number | null = null;
      let pricePerMillion = 0;
      if (paid && missing.length) {
        const price = await priceAt(deps.pool, 'embeddings', model, 'micro_usd_per_1m_tokens');
        if (price === null)
          throw permanent(`price_catalog has no price for embedding model "${model}": insert one (see README, Costs)`);
        pricePerMillion = price;
        const tokens = missing.reduce((n, m) => n + m.token_count, 0);
        const spend = await guardSpend(deps, {
          jobId,
          stage: 'embed',
          service: 'embeddings',
          amountMicroUsd: tokenCostMicroUsd(tokens, price),
          task: 'job__embed',
          payload: p,
          log,
        });
        if (!spend.ok) return;
        reservationId = spend.reservationId;
      }
      await advanceJob(deps.pool, jobId, 'embedding_queued', 'embedding_in_progress', {
        who: 'worker',
        model,
        dimensions,
      });
      let promptTokens = 0;
      let embedded = 0;
      const batches = batchByLimits(missing, deps.embedder.maxBatch, deps.embedder.maxBatchTokens);
      for (const [i, batch] of batches.entries()) {
        const batchTokens = batch.reduce((n, m) => n + m.token_count, 0);
        const texts = batch.map((m) => m.content);
        const { vectors, promptTokens: reported } = paid
          ? await guardedCall(deps, 'embeddings', 'embed', () => deps.embedder.embed(texts), [
              ['embeddings:requests', 1],
              ['embeddings:tokens', batchTokens],
            ])
          : await deps.embedder.embed(texts);
        const tokens = reported ?? batch.reduce((n, m) => n + m.token_count, 0);
        promptTokens += tokens;
        const rows = batch.map((m, j) => ({ sha: m.sha, vector: vectors[j]! }));
        await deps.pool.transaction(async (tx) => {
          await tx.query(sql.unsafe`
            insert into embeddings (content_sha256, model, dimensions, vector)
            select decode(x.sha, 'hex'), ${model}, ${dimensions}, array(select jsonb_array_elements_text(x.vector)::real)
            from jsonb_to_recordset(${sql.jsonb(rows as never)}) as x(sha text, vector jsonb)
            on conflict do nothing`);
          if (paid) {
            await recordCost(tx, {
              service: 'embeddings',
              operation: 'embed',
              units: tokens,
              unit: 'tokens',
              costMicroUsd: tokenCostMicroUsd(tokens, pricePerMillion),
              estimated: reported === null,
              jobId,
              correlationId,
              externalId: model,
              reservationId,
            });
          }
        });
        embedded += batch.length;
        log.debug({ batch: i + 1, batches: batches.length, embedded }, 'embed: batch stored');
      }
      const total = await deps.pool.oneFirst(sql.type(z.object({ n: z.number() }))`
        select count(distinct content_sha256)::int as n from chunks where job_id = ${jobId}::uuid`);
      await deps.pool.transaction(async (tx) => {
        const locked = await lockJob(tx, jobId);
        if (locked.state !== 'embedding_in_progress') return;
        if (reservationId !== null) await settleReservation(tx, reservationId);
        await tx.query(
          sql.unsafe`update jobs set embedding_model = ${model}, embedding_dimensions = ${dimensions} where id = ${jobId}::uuid`,
        );
        await advanceJob(tx, jobId, 'embedding_in_progress', 'embeddings_stored', {
          who: 'worker',
          model,
          embedded,
          reused: total - embedded,
          ...(paid ? { prompt_tokens: promptTokens } : {}),
        });
        await advanceJob(tx, jobId, 'embeddings_stored', 'complete', { who: 'worker' });
      });
      log.info({ embedded, reused: total - embedded, model }, 'embed: complete');
    });
}
