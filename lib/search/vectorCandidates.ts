// The contents nearest to a query vector, by inner product (cosine similarity: every embedder
// returns unit-length vectors), among chunks of completed jobs that pass the filters. Three ways,
// the same answer up to HNSW's approximation:
//   hnswCandidates   pgvector's HNSW index of the space (tvdb vectors reindex builds it)
//   exactCandidates  every vector of the space: with pgvector's <#> operator when the extension is
//                    in the database, else the SQL dot_product over real[] (the embedded default)
import { sql, type CommonQueryMethods, type DatabasePool } from 'slonik';
import { z } from 'zod';
import { indexedCast } from '../vectors/vectorIndexes.ts';
import type { VectorSpace } from '../vectors/hnswIndex.ts';
import { written } from '../db/writtenSql.ts';
import { jobConditions, type SearchFilters } from './searchFilters.ts';

export type VectorQuery = { space: VectorSpace; vector: number[]; limit: number; filters: SearchFilters };
const Candidate = z.object({ sha: z.string(), score: z.number() });
export type Candidate = z.infer<typeof Candidate>;

const inSpace = (space: VectorSpace) =>
  sql.fragment`e.model = ${space.model} and e.dimensions = ${sql.fragment(written(String(space.dimensions)))}`;

/** A completed job that passes the filters has a chunk with this content. */
const searchable = (filters: SearchFilters) => sql.fragment`exists (
  select 1 from chunks c join jobs j on j.id = c.job_id
  where c.content_sha256 = e.content_sha256 and ${jobConditions(filters)})`;

/** The HNSW query, as its own fragment so that a test can EXPLAIN exactly what search runs. The
 * inner ORDER BY must spell the index's expression (the cast) and operator for the planner to use
 * it; with iterative scans the order may be relaxed, so the outer query sorts again. The filter is
 * a scalar subquery, evaluated per row the index yields: as a plain EXISTS the planner may turn it
 * into a join driven from jobs and sort every vector (it did, measured, while the tables' statistics
 * were stale after a bulk load); filters selective enough for that plan go exact anyway. */
export function hnswQuery(q: VectorQuery) {
  const cast = indexedCast(q.space);
  const distance = sql.fragment`e.vector::${cast} <#> ${sql.array(q.vector, 'float4')}::${cast}`;
  return sql.fragment`
    with nearest as materialized (
      select e.content_sha256, ${distance} as distance
      from embeddings e
      where ${inSpace(q.space)} and (select ${searchable(q.filters)})
      order by ${distance}
      limit ${q.limit})
    select encode(content_sha256, 'hex') as sha, (-distance)::float8 as score from nearest order by distance`;
}

/** Through the index, in a transaction that sets pgvector's search parameters for it alone:
 * ef_search (candidate list size: recall against latency), and iterative scans, so that rows the
 * filters remove are replaced by further candidates instead of leaving fewer than asked for. */
export async function hnswCandidates(pool: DatabasePool, q: VectorQuery, efSearch: number) {
  return pool.transaction(async (tx) => {
    await tx.query(sql.unsafe`
      select set_config('hnsw.ef_search', ${String(efSearch)}, true), set_config('hnsw.iterative_scan', 'relaxed_order', true)`);
    return tx.any(sql.type(Candidate)`${hnswQuery(q)}`);
  });
}

export async function exactCandidates(db: CommonQueryMethods, q: VectorQuery, withPgvector: boolean) {
  const query = sql.array(q.vector, 'float4');
  const similarity = withPgvector
    ? sql.fragment`-(e.vector::vector <#> ${query}::vector)`
    : sql.fragment`dot_product(e.vector, ${query})`;
  return db.any(sql.type(Candidate)`
    select encode(e.content_sha256, 'hex') as sha, ${similarity}::float8 as score
    from embeddings e
    where ${inSpace(q.space)} and ${searchable(q.filters)}
    order by score desc, e.content_sha256
    limit ${q.limit}`);
}

/** Chunks of completed jobs passing the filters, counted up to `cap` (the count stops there). */
export async function countFilteredChunks(db: CommonQueryMethods, filters: SearchFilters, cap: number) {
  return db.oneFirst(sql.type(z.object({ n: z.number() }))`
    select count(*)::int as n from (
      select 1 from chunks c join jobs j on j.id = c.job_id where ${jobConditions(filters)} limit ${cap}) s`);
}
