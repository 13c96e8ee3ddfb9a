// Where the vectors stand: pgvector on the server and in the database, and per vector space
// (model, dimensions) the vectors stored and the HNSW index, if any. `tvdb vectors status` shows
// it; `tvdb migrate` and `tvdb search` turn it into a hint when pgvector is there but unused.
import type { CommonQueryMethods } from 'slonik';
import { indexedTypeFor, type VectorSpace } from './hnswIndex.ts';
import { pgvectorState, type PgvectorState } from './pgvector.ts';
import { findHnswIndex, vectorSpaces, type IndexInfo } from './vectorIndexes.ts';

export type SpaceStatus = VectorSpace & {
  vectors: number;
  index: IndexInfo | null;
  /** What an unfiltered search of this space uses now. */
  search: 'hnsw' | 'exact';
  indexable: boolean;
};

export type VectorsStatus = { pgvector: PgvectorState; spaces: SpaceStatus[] };

/** `configured`: the embedder's space, listed even before it holds a vector. `exactBelow`
 * (TVDB_SEARCH_EXACT_BELOW): a space this small is read whole even with an index. */
export async function vectorsStatus(
  db: CommonQueryMethods,
  configured?: VectorSpace,
  exactBelow = 0,
): Promise<VectorsStatus> {
  const pgvector = await pgvectorState(db);
  const stored = [...(await vectorSpaces(db))];
  if (configured && !stored.some((s) => s.model === configured.model && s.dimensions === configured.dimensions))
    stored.push({ ...configured, vectors: 0 });
  const spaces: SpaceStatus[] = [];
  for (const s of stored) {
    const index = pgvector.installed ? await findHnswIndex(db, s) : null;
    const indexable = indexedTypeFor(s.dimensions) !== null;
    spaces.push({ ...s, index, indexable, search: index?.valid && s.vectors > exactBelow ? 'hnsw' : 'exact' });
  }
  return { pgvector, spaces };
}

/** What the operator could do next, or null when there is nothing to do. */
export function vectorsAdvice(status: VectorsStatus): string | null {
  if (!status.pgvector.available) return null;
  const unindexed = status.spaces.filter((s) => s.indexable && !s.index?.valid && s.vectors > 0);
  if (status.pgvector.installed && !unindexed.length) return null;
  return `pgvector ${status.pgvector.available} is installed on this server but ${
    status.pgvector.installed
      ? `${unindexed.length} vector space(s) have no HNSW index`
      : 'not enabled in this database'
  }: run "tvdb vectors reindex" (no re-embedding; the index is built from the stored vectors)`;
}
