// What the HNSW index of one vector space (model, dimensions) is called and which pgvector type it
// indexes. pure: no I/O. pgvector indexes `vector` up to 2,000 dimensions and `halfvec` (half
// precision) up to 4,000; larger vectors cannot have an HNSW index and are searched exactly.
import { createHash } from 'node:crypto';

export type VectorSpace = { model: string; dimensions: number };
export type IndexedType = 'vector' | 'halfvec';

export const MAX_VECTOR_DIMENSIONS = 2000;
export const MAX_HALFVEC_DIMENSIONS = 4000;

/** The pgvector type an HNSW index over vectors of this size uses, or null when none can. */
export function indexedTypeFor(dimensions: number): IndexedType | null {
  assertDimensions(dimensions);
  if (dimensions <= MAX_VECTOR_DIMENSIONS) return 'vector';
  if (dimensions <= MAX_HALFVEC_DIMENSIONS) return 'halfvec';
  return null;
}

/** One name per space, stable and within PostgreSQL's 63-byte limit whatever the model is called. */
export function hnswIndexName(space: VectorSpace): string {
  assertDimensions(space.dimensions);
  const digest = createHash('sha256').update(space.model).digest('hex').slice(0, 12);
  return `embeddings_hnsw_${space.dimensions}_${digest}`;
}

/** The dimension count goes into SQL as a type modifier (vector(256)), so it must be a plain integer. */
export function assertDimensions(dimensions: number) {
  if (!Number.isSafeInteger(dimensions) || dimensions < 1 || dimensions > 100_000)
    throw new RangeError(`dimensions must be a whole number from 1 to 100000, got ${dimensions}`);
}
