// Chunk stage: parsed -> chunking -> chunks_stored -> embedding_queued. Chunks are keyed by
// (job, ordinal) and chunking is deterministic, so a re-run after a crash writes nothing new.
import type { Task } from 'graphile-worker';
import { sql } from 'slonik';
import type { PipelineDeps } from '../lib/pipeline/deps.ts';
import { runStage } from '../lib/pipeline/runStage.ts';
import { loadJob, lockJob } from '../lib/pipeline/jobRecord.ts';
import { loadParsedPages } from '../lib/pipeline/parseResults.ts';
import { chunkMarkdown, type Chunk } from '../lib/chunk/chunkMarkdown.ts';
import { z } from 'zod';
import { advanceJob } from '../lib/jobs/advanceJob.ts';
import { enqueue } from '../lib/jobs/enqueue.ts';
import { permanent } from '../lib/errors.ts';

const StoredChunk = z.object({
  ordinal: z.number(),
  content: z.string(),
  sha: z.string(),
  tokenCount: z.number(),
  overlapChars: z.number(),
  pageStart: z.number(),
  pageEnd: z.number(),
  headingPath: z.array(z.string()),
  oversized: z.boolean(),
});

export function job__chunk(deps: PipelineDeps): Task {
  return (payload, helpers) =>
    runStage('chunk', payload, helpers, deps, async ({ jobId, correlationId, log }) => {
      let job = await loadJob(deps.pool, jobId);
      if (job.state !== 'parsed' && job.state !== 'chunking')
        return log.info({ state: job.state }, 'chunk: nothing to do');
      if (job.parse_result_id === null) throw permanent('the job has no parse result to chunk');
      await advanceJob(deps.pool, jobId, 'parsed', 'chunking', { who: 'worker' });
      const settings = {
        targetTokens: deps.chunking.targetTokens,
        overlapTokens: deps.chunking.overlapTokens,
        tokenizer: 'cl100k_base',
      };
      // Same parse result and same settings give the same chunks: copy them from an earlier job.
      const donor = await deps.pool.maybeOneFirst(sql.type(z.object({ id: z.string() }))`
        select id::text from jobs
        where parse_result_id = ${job.parse_result_id} and chunking_settings = ${sql.jsonb(settings)} and id <> ${jobId}::uuid
          and state in ('chunks_stored', 'embedding_queued', 'embedding_in_progress', 'embeddings_stored', 'complete')
        limit 1`);
      let chunks: Array<Omit<Chunk, 'contentSha256'> & { sha: string }>;
      if (donor) {
        chunks = [
          ...(await deps.pool.any(sql.type(StoredChunk)`
          select ordinal, content, encode(content_sha256, 'hex') as sha, token_count as "tokenCount", overlap_chars as "overlapChars",
                 page_start as "pageStart", page_end as "pageEnd", heading_path as "headingPath", oversized
          from chunks where job_id = ${donor}::uuid order by ordinal`)),
        ];
      } else {
        const pages = await loadParsedPages(deps.pool, job.parse_result_id);
        chunks = chunkMarkdown(pages, deps.chunking).map(({ contentSha256, ...c }) => ({
          ...c,
          sha: contentSha256.toString('hex'),
        }));
      }
      if (!chunks.length) throw permanent('the parsed document has no text to chunk');
      const oversized = chunks.filter((c) => c.oversized).map((c) => c.ordinal);
      if (oversized.length)
        log.warn({ ordinals: oversized }, 'chunk: unsplittable runs longer than the chunk limit were kept whole');
      const rows = chunks.map((c) => ({
        ordinal: c.ordinal,
        content: c.content,
        sha: c.sha,
        token_count: c.tokenCount,
        overlap_chars: c.overlapChars,
        page_start: c.pageStart,
        page_end: c.pageEnd,
        heading_path: c.headingPath,
        oversized: c.oversized,
      }));
      const moved = await deps.pool.transaction(async (tx) => {
        job = await lockJob(tx, jobId);
        if (job.state !== 'chunking') return false; // a concurrent run finished first
        await tx.query(sql.unsafe`
          insert into chunks (job_id, ordinal, content, content_sha256, token_count, overlap_chars, page_start, page_end, heading_path, oversized)
          select ${jobId}::uuid, x.ordinal, x.content, decode(x.sha, 'hex'), x.token_count, x.overlap_chars, x.page_start, x.page_end,
                 array(select jsonb_array_elements_text(x.heading_path)), x.oversized
          from jsonb_to_recordset(${sql.jsonb(rows as never)}) as x(ordinal int, content text, sha text, token_count int, overlap_chars int,
                                                               page_start int, page_end int, heading_path jsonb, oversized boolean)
          on conflict (job_id, ordinal) do nothing`);
        await tx.query(
          sql.unsafe`update jobs set chunking_settings = ${sql.jsonb(settings)} where id = ${jobId}::uuid`,
        );
        const tokens = chunks.reduce((n, c) => n + c.tokenCount, 0);
        await advanceJob(tx, jobId, 'chunking', 'chunks_stored', {
          who: 'worker',
          chunks: chunks.length,
          tokens,
          ...(donor ? { reused_chunks_of: donor } : {}),
          ...(oversized.length ? { oversized } : {}),
        });
        await advanceJob(tx, jobId, 'chunks_stored', 'embedding_queued', { who: 'worker' });
        await enqueue(tx, 'job__embed', { jobId, correlationId }, { maxAttempts: deps.attempts('job__embed') });
        return true;
      });
      if (moved) log.info({ chunks: chunks.length, reused_from: donor }, 'chunk: chunks stored');
    });
}
