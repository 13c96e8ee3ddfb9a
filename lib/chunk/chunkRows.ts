// The chunks table: chunks are keyed by (job, ordinal), so storing them twice changes nothing.
import { sql, type CommonQueryMethods } from 'slonik';
import { z } from 'zod';
import type { ChunkingOptions } from './chunkMarkdown.ts';

export type ChunkingSettings = { targetTokens: number; overlapTokens: number; tokenizer: 'cl100k_base' };

export const chunkingSettings = (o: Pick<ChunkingOptions, 'targetTokens' | 'overlapTokens'>): ChunkingSettings => ({
  targetTokens: o.targetTokens,
  overlapTokens: o.overlapTokens,
  tokenizer: 'cl100k_base',
});

/** Another job whose chunks came from the same parse result and settings (they are the same).
 * Chunks are stored in the transaction that finishes chunking, so a job that has any has them all. */
export async function findChunkDonor(
  db: CommonQueryMethods,
  input: { parseResultId: number; settings: ChunkingSettings; exceptJobId: string },
): Promise<string | null> {
  return db.maybeOneFirst(sql.type(z.object({ id: z.string() }))`
    select j.id::text from jobs j
    where j.parse_result_id = ${input.parseResultId} and j.chunking_settings = ${sql.jsonb(input.settings)}
      and j.id <> ${input.exceptJobId}::uuid
      and exists (select 1 from chunks c where c.job_id = j.id)
    limit 1`);
}

export type ChunkSummary = { count: number; tokens: number; oversized: number[] };

/** A donor's chunks copied to this job, in one statement (they never pass through this process).
 * `textSearchLanguage` (TVDB_TEXT_SEARCH_LANGUAGE): the text search configuration of their tsvector. */
export async function copyChunks(
  tx: CommonQueryMethods,
  fromJobId: string,
  toJobId: string,
  textSearchLanguage: string,
): Promise<ChunkSummary> {
  const row = await tx.one(sql.type(
    z.object({ count: z.number(), tokens: z.number(), oversized: z.array(z.number()) }),
  )`
    with copied as (
      insert into chunks (job_id, ordinal, content, content_sha256, token_count, overlap_chars, page_start, page_end, heading_path, oversized,
                          text_search_language)
      select ${toJobId}::uuid, ordinal, content, content_sha256, token_count, overlap_chars, page_start, page_end, heading_path, oversized,
             ${textSearchLanguage}
      from chunks where job_id = ${fromJobId}::uuid
      on conflict (job_id, ordinal) do nothing
      returning ordinal, token_count, oversized)
    select count(*)::int as count, coalesce(sum(token_count), 0)::int as tokens,
           coalesce(array_agg(ordinal order by ordinal) filter (where oversized), '{}') as oversized
    from copied`);
  return { count: row.count, tokens: row.tokens, oversized: [...row.oversized] };
}

/** The job's chunks from their JSON rows (made by the chunker in a worker thread), one statement.
 * `textSearchLanguage` (TVDB_TEXT_SEARCH_LANGUAGE): the text search configuration of their tsvector. */
export async function storeChunks(tx: CommonQueryMethods, jobId: string, rowsJson: string, textSearchLanguage: string) {
  await tx.query(sql.unsafe`
    insert into chunks (job_id, ordinal, content, content_sha256, token_count, overlap_chars, page_start, page_end, heading_path, oversized,
                        text_search_language)
    select ${jobId}::uuid, x.ordinal, x.content, decode(x.sha, 'hex'), x.token_count, x.overlap_chars, x.page_start, x.page_end,
           array(select jsonb_array_elements_text(x.heading_path)), x.oversized, ${textSearchLanguage}
    from jsonb_to_recordset(${rowsJson}::jsonb) as x(ordinal int, content text, sha text, token_count int, overlap_chars int,
                                                   page_start int, page_end int, heading_path jsonb, oversized boolean)
    on conflict (job_id, ordinal) do nothing`);
}

export async function recordChunkingSettings(tx: CommonQueryMethods, jobId: string, settings: ChunkingSettings) {
  await tx.query(sql.unsafe`update jobs set chunking_settings = ${sql.jsonb(settings)} where id = ${jobId}::uuid`);
}
