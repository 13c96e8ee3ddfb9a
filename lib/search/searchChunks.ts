// Nearest chunks to a query vector among completed jobs, by cosine similarity (dot product of
// L2-normalised vectors), one hit per distinct content. A sequential scan over real[]; with
// pgvector the same query uses an HNSW index (`order by vector <=> $1`).
import { sql, type CommonQueryMethods } from 'slonik';
import { z } from 'zod';

const Hit = z.object({
  job_id: z.string(),
  file_name: z.string(),
  page_start: z.number(),
  page_end: z.number(),
  heading_path: z.array(z.string()),
  content: z.string(),
  score: z.number(),
});
export type SearchHit = z.infer<typeof Hit>;

export async function searchChunks(
  db: CommonQueryMethods,
  query: { vector: number[]; model: string; dimensions: number; k: number },
) {
  return db.any(sql.type(Hit)`
    select job_id, file_name, page_start, page_end, heading_path, content, score from (
      select distinct on (c.content_sha256) c.job_id::text, j.file_name, c.page_start, c.page_end, c.heading_path, c.content,
             dot_product(e.vector, ${sql.array(query.vector, 'float4')}) as score
      from chunks c
      join jobs j on j.id = c.job_id and j.state = 'complete'
      join embeddings e on e.content_sha256 = c.content_sha256 and e.model = ${query.model} and e.dimensions = ${query.dimensions}
      order by c.content_sha256, j.created_at desc
    ) hits
    order by score desc
    limit ${query.k}`);
}
