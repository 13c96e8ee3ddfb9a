// Which way a vector search goes. Through the space's HNSW index when it has a valid one, unless
// the space, or what its filters leave, is small enough (TVDB_SEARCH_EXACT_BELOW chunks) that
// reading every vector is cheap, and exact where HNSW is approximate; and exactly when the index
// returned fewer candidates than asked (an iterative scan stops after hnsw.max_scan_tuples, 20,000
// by default, so a filter matching a sliver of a large space could come back short): a filtered
// search never silently loses results.
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

export type VectorMethod = 'hnsw' | 'exact';

export async function nearestContents(
  pool: DatabasePool,
  q: VectorQuery,
  settings: { efSearch: number; exactBelow: number },
): Promise<{ candidates: Candidate[]; method: VectorMethod }> {
  // A query with no features (the local embedder and a query of punctuation) is near nothing.
  if (q.vector.every((x) => x === 0)) return { candidates: [], method: 'exact' };
  const state = await spaceSearchState(pool, q.space);
  if (state.index_valid && indexedTypeFor(q.space.dimensions)) {
    const searched = hasFilters(q.filters)
      ? await countFilteredChunks(pool, q.filters, settings.exactBelow + 1)
      : state.index_vectors < 0
        ? Infinity
        : state.index_vectors;
    if (searched > settings.exactBelow) {
      const candidates = await hnswCandidates(pool, q, settings.efSearch);
      if (candidates.length >= q.limit) return { candidates: [...candidates], method: 'hnsw' };
    }
  }
  return { candidates: [...(await exactCandidates(pool, q, state.pgvector))], method: 'exact' };
}
