// What a search shows for each content it found: the chunk of the newest completed job that has
// it and passes the filters (identical text in several documents is one hit), with its document,
// pages and heading path.
import { sql, type CommonQueryMethods } from 'slonik';
import { z } from 'zod';
import { jobConditions, type SearchFilters } from './searchFilters.ts';

const Hit = z.object({
  sha: z.string(),
  job_id: z.string(),
  document_id: z.number(),
  file_name: z.string(),
  correlation_id: z.string(),
  page_start: z.number(),
  page_end: z.number(),
  heading_path: z.array(z.string()),
  content: z.string(),
});
export type Hit = z.infer<typeof Hit>;

export async function loadHits(db: CommonQueryMethods, shas: readonly string[], filters: SearchFilters) {
  if (!shas.length) return [];
  return db.any(sql.type(Hit)`
    select distinct on (c.content_sha256) encode(c.content_sha256, 'hex') as sha, c.job_id::text, j.document_id::float8 as document_id,
           j.file_name, j.correlation_id, c.page_start, c.page_end, c.heading_path, c.content
    from chunks c join jobs j on j.id = c.job_id and ${jobConditions(filters)}
    where c.content_sha256 in (select decode(h, 'hex') from unnest(${sql.array([...shas], 'text')}) h)
    order by c.content_sha256, j.created_at desc, c.ordinal`);
}
