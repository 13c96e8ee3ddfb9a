// Which way a vector search goes. Through the space's HNSW index when it has a valid one, unless
// the filters leave so few chunks that reading them all is cheap and exact; and exactly when the
// index returned fewer candidates than asked (an iterative scan stops after hnsw.max_scan_tuples,
// 20,000 by default, so a filter matching a sliver of a large space could come back short):
// a filtered search never silently loses results.
import type { DatabasePool } from 'slonik';
import { indexedTypeFor } from '../vectors/hnswIndex.ts';
import { spaceSearchState } from '../vectors/vectorIndexes.ts';
import { hasFilters } from './searchFilters.ts';
import {
  countFilteredChunks,
  exactCandidates,
  hnswCandidates,
  type Candidate,
  type VectorQuery,
} from './vectorCandidates.ts';

/** At most this many chunks after filtering: exact search (pgvector reads 10k vectors in ~20 ms). */
export const EXACT_BELOW_CHUNKS = 10_000;

export type VectorMethod = 'hnsw' | 'exact';

export async function nearestContents(
  pool: DatabasePool,
  q: VectorQuery,
  efSearch: number,
): Promise<{ candidates: Candidate[]; method: VectorMethod }> {
  // A query with no features (the local embedder and a query of punctuation) is near nothing.
  if (q.vector.every((x) => x === 0)) return { candidates: [], method: 'exact' };
  const state = await spaceSearchState(pool, q.space);
  if (state.index_valid && indexedTypeFor(q.space.dimensions)) {
    const filtered = hasFilters(q.filters)
      ? await countFilteredChunks(pool, q.filters, EXACT_BELOW_CHUNKS + 1)
      : Infinity;
    if (filtered > EXACT_BELOW_CHUNKS) {
      const candidates = await hnswCandidates(pool, q, efSearch);
      if (candidates.length >= q.limit) return { candidates: [...candidates], method: 'hnsw' };
    }
  }
  return { candidates: [...(await exactCandidates(pool, q, state.pgvector))], method: 'exact' };
}
