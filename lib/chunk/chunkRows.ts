// The chunks table: chunks are keyed by (job, ordinal), so storing them twice changes nothing.
import { sql, type CommonQueryMethods } from 'slonik';
import { z } from 'zod';
import type { Chunk, ChunkingOptions } from './chunkMarkdown.ts';

export type ChunkingSettings = { targetTokens: number; overlapTokens: number; tokenizer: 'cl100k_base' };

export const chunkingSettings = (o: ChunkingOptions): ChunkingSettings => ({
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

const StoredChunk = z.object({
  ordinal: z.number(),
  content: z.string(),
  contentSha256: z.instanceof(Buffer),
  tokenCount: z.number(),
  overlapChars: z.number(),
  pageStart: z.number(),
  pageEnd: z.number(),
  headingPath: z.array(z.string()),
  oversized: z.boolean(),
});

export async function loadChunks(db: CommonQueryMethods, jobId: string): Promise<Chunk[]> {
  const rows = await db.any(sql.type(StoredChunk)`
    select ordinal, content, content_sha256 as "contentSha256", token_count as "tokenCount", overlap_chars as "overlapChars",
           page_start as "pageStart", page_end as "pageEnd", heading_path as "headingPath", oversized
    from chunks where job_id = ${jobId}::uuid order by ordinal`);
  return [...rows];
}

/** The job's chunks (one statement) and the settings they were made with. */
export async function storeChunks(tx: CommonQueryMethods, jobId: string, chunks: Chunk[], settings: ChunkingSettings) {
  const rows = chunks.map((c) => ({
    ordinal: c.ordinal,
    content: c.content,
    sha: c.contentSha256.toString('hex'),
    token_count: c.tokenCount,
    overlap_chars: c.overlapChars,
    page_start: c.pageStart,
    page_end: c.pageEnd,
    heading_path: c.headingPath,
    oversized: c.oversized,
  }));
  await tx.query(sql.unsafe`
    insert into chunks (job_id, ordinal, content, content_sha256, token_count, overlap_chars, page_start, page_end, heading_path, oversized)
    select ${jobId}::uuid, x.ordinal, x.content, decode(x.sha, 'hex'), x.token_count, x.overlap_chars, x.page_start, x.page_end,
           array(select jsonb_array_elements_text(x.heading_path)), x.oversized
    from jsonb_to_recordset(${sql.jsonb(rows as never)}) as x(ordinal int, content text, sha text, token_count int, overlap_chars int,
                                                           page_start int, page_end int, heading_path jsonb, oversized boolean)
    on conflict (job_id, ordinal) do nothing`);
  await tx.query(sql.unsafe`update jobs set chunking_settings = ${sql.jsonb(settings)} where id = ${jobId}::uuid`);
}
