// Embed stage: embedding_queued -> embedding_in_progress -> embeddings_stored -> complete. Only
// content not yet embedded with this model and dimension is sent (reuse before paying); each batch
// is stored as it arrives, so a crash loses at most the batch in flight.
import type { Task } from 'graphile-worker';
import { sql } from 'slonik';
import { z } from 'zod';
import type { PipelineDeps } from '../lib/worker/deps.ts';
import { runStage } from '../lib/worker/runStage.ts';
import { loadJob, lockJob } from '../lib/pipeline/jobRecord.ts';
import { advanceJob } from '../lib/jobs/advanceJob.ts';
import { batchByLimits } from '../lib/embed/batchByLimits.ts';

const Missing = z.object({ sha: z.string(), content: z.string(), token_count: z.number() });

export function job__embed(deps: PipelineDeps): Task {
  return (payload, helpers) =>
    runStage('embed', payload, helpers, deps, async ({ jobId, log }) => {
      const job = await loadJob(deps.pool, jobId);
      if (job.state !== 'embedding_queued' && job.state !== 'embedding_in_progress')
        return log.info({ state: job.state }, 'embed: nothing to do');
      const { model, dimensions } = deps.embedder;
      await advanceJob(deps.pool, jobId, 'embedding_queued', 'embedding_in_progress', {
        who: 'worker',
        model,
        dimensions,
      });
      const missing = await deps.pool.any(sql.type(Missing)`
        select distinct on (c.content_sha256) encode(c.content_sha256, 'hex') as sha, c.content, c.token_count
        from chunks c
        where c.job_id = ${jobId}::uuid
          and not exists (select 1 from embeddings e
                          where e.content_sha256 = c.content_sha256 and e.model = ${model} and e.dimensions = ${dimensions})
        order by c.content_sha256`);
      let promptTokens = 0;
      let embedded = 0;
      const batches = batchByLimits(missing, deps.embedder.maxBatch, deps.embedder.maxBatchTokens);
      for (const [i, batch] of batches.entries()) {
        const { vectors, promptTokens: used } = await deps.embedder.embed(batch.map((m) => m.content));
        promptTokens += used ?? 0;
        const rows = batch.map((m, j) => ({ sha: m.sha, vector: vectors[j]! }));
        await deps.pool.query(sql.unsafe`
          insert into embeddings (content_sha256, model, dimensions, vector)
          select decode(x.sha, 'hex'), ${model}, ${dimensions}, array(select jsonb_array_elements_text(x.vector)::real)
          from jsonb_to_recordset(${sql.jsonb(rows as never)}) as x(sha text, vector jsonb)
          on conflict do nothing`);
        embedded += batch.length;
        log.debug({ batch: i + 1, batches: batches.length, embedded }, 'embed: batch stored');
      }
      const total = await deps.pool.oneFirst(sql.type(z.object({ n: z.number() }))`
        select count(distinct content_sha256)::int as n from chunks where job_id = ${jobId}::uuid`);
      await deps.pool.transaction(async (tx) => {
        const locked = await lockJob(tx, jobId);
        if (locked.state !== 'embedding_in_progress') return;
        await tx.query(
          sql.unsafe`update jobs set embedding_model = ${model}, embedding_dimensions = ${dimensions} where id = ${jobId}::uuid`,
        );
        await advanceJob(tx, jobId, 'embedding_in_progress', 'embeddings_stored', {
          who: 'worker',
          model,
          embedded,
          reused: total - embedded,
          ...(deps.embedder.name === 'openai' ? { prompt_tokens: promptTokens } : {}),
        });
        await advanceJob(tx, jobId, 'embeddings_stored', 'complete', { who: 'worker' });
      });
      log.info({ embedded, reused: total - embedded, model }, 'embed: complete');
    });
}
