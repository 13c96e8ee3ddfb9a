// The embeddings table: one vector per (content hash, model, dimensions), shared by every job whose
// chunks have that content, so identical text is embedded (and paid for) once.
import { sql, type CommonQueryMethods } from 'slonik';
import { z } from 'zod';

const Missing = z.object({ sha: z.string(), content: z.string(), token_count: z.number() });
export type MissingEmbedding = z.infer<typeof Missing>;

/** The job's distinct chunk contents that have no vector for this model and size yet. */
export async function missingEmbeddings(
  db: CommonQueryMethods,
  jobId: string,
  model: string,
  dimensions: number,
): Promise<readonly MissingEmbedding[]> {
  return db.any(sql.type(Missing)`
    select distinct on (c.content_sha256) encode(c.content_sha256, 'hex') as sha, c.content, c.token_count
    from chunks c
    where c.job_id = ${jobId}::uuid
      and not exists (select 1 from embeddings e
                      where e.content_sha256 = c.content_sha256 and e.model = ${model} and e.dimensions = ${dimensions})
    order by c.content_sha256`);
}

/** One statement per batch; a vector already stored (by a concurrent job) is kept. */
export async function storeEmbeddings(
  tx: CommonQueryMethods,
  model: string,
  dimensions: number,
  rows: Array<{ sha: string; vector: number[] }>,
) {
  await tx.query(sql.unsafe`
    insert into embeddings (content_sha256, model, dimensions, vector)
    select decode(x.sha, 'hex'), ${model}, ${dimensions}, array(select jsonb_array_elements_text(x.vector)::real)
    from jsonb_to_recordset(${sql.jsonb(rows as never)}) as x(sha text, vector jsonb)
    on conflict do nothing`);
}

export async function countDistinctChunkContents(db: CommonQueryMethods, jobId: string): Promise<number> {
  return db.oneFirst(sql.type(z.object({ n: z.number() }))`
    select count(distinct content_sha256)::int as n from chunks where job_id = ${jobId}::uuid`);
}

export async function recordEmbeddingModel(tx: CommonQueryMethods, jobId: string, model: string, dimensions: number) {
  await tx.query(
    sql.unsafe`update jobs set embedding_model = ${model}, embedding_dimensions = ${dimensions} where id = ${jobId}::uuid`,
  );
}
