// `tvdb vectors reindex`: move a database's vectors onto pgvector's HNSW, without re-embedding
// anything. Creates the extension when it is not there yet, then gives every vector space (those
// stored, and the configured embedder's) its index, built concurrently so ingestion and search go
// on meanwhile (search stays exact until the index is valid). Valid indexes are kept; an
// interrupted build's leftover is dropped and built again; `rebuild` builds each anew beside the
// old one and swaps them, for new build settings.
import type { DatabasePool } from 'slonik';
import { hnswIndexName, indexedTypeFor, type VectorSpace } from './hnswIndex.ts';
import { createVectorExtension, pgvectorState } from './pgvector.ts';
import {
  buildHnswIndex,
  dropIndex,
  findHnswIndex,
  renameIndex,
  vectorSpaces,
  type HnswBuildSettings,
} from './vectorIndexes.ts';

export type ReindexOutcome = VectorSpace & {
  vectors: number;
  action: 'built' | 'rebuilt' | 'kept' | 'not_indexable';
  seconds: number;
};

export class ReindexRefused extends Error {
  override name = 'ReindexRefused';
}

export async function reindexVectors(
  pool: DatabasePool,
  options: {
    build: HnswBuildSettings;
    configured?: VectorSpace;
    rebuild?: boolean;
    /** Called before each space's build starts and after it ends. */
    onSpace?: (space: VectorSpace & { vectors: number }, phase: 'start' | 'end', outcome?: ReindexOutcome) => void;
  },
): Promise<ReindexOutcome[]> {
  if (options.build.efConstruction < 2 * options.build.m)
    throw new RangeError('ef_construction must be at least twice m (pgvector refuses smaller)');
  const state = await pgvectorState(pool);
  if (!state.available)
    throw new ReindexRefused(
      'pgvector is not installed on this PostgreSQL server: install it (see README: "Vector search at scale"), then run this again',
    );
  if (!state.installed) {
    try {
      await createVectorExtension(pool);
    } catch (error) {
      if ((error as { code?: string }).code === '42501' || /permission denied/i.test((error as Error).message))
        throw new ReindexRefused(
          'creating the vector extension needs a superuser: ask one to run "create extension vector" in this database, then run this again',
        );
      throw error;
    }
  }
  const spaces = [...(await vectorSpaces(pool))];
  const c = options.configured;
  if (c && !spaces.some((s) => s.model === c.model && s.dimensions === c.dimensions)) spaces.push({ ...c, vectors: 0 });
  const outcomes: ReindexOutcome[] = [];
  for (const space of spaces) {
    const started = performance.now();
    const done = (action: ReindexOutcome['action']) => {
      const outcome = { ...space, action, seconds: (performance.now() - started) / 1000 };
      outcomes.push(outcome);
      options.onSpace?.(space, 'end', outcome);
    };
    if (!indexedTypeFor(space.dimensions)) {
      done('not_indexable');
      continue;
    }
    const name = hnswIndexName(space);
    const existing = await findHnswIndex(pool, space);
    if (existing?.valid && !options.rebuild) {
      done('kept');
      continue;
    }
    options.onSpace?.(space, 'start');
    try {
      await buildSpace(pool, space, name, existing, options);
    } catch (error) {
      if ((error as { code?: string }).code === '42501')
        throw new ReindexRefused(
          'building an index needs the owner of the embeddings table: run "tvdb vectors reindex" with ' +
            'TVDB_MIGRATION_DATABASE_URL set to the owner (README: Database roles)',
        );
      throw error;
    }
    done(existing?.valid ? 'rebuilt' : 'built');
  }
  return outcomes;
}

/** A new index, or a rebuilt one: built beside the old under another name, then swapped in. */
async function buildSpace(
  pool: DatabasePool,
  space: VectorSpace,
  name: string,
  existing: { valid: boolean } | null,
  options: { build: HnswBuildSettings },
) {
  if (existing?.valid) {
    const next = `${name}_next`;
    await dropIndex(pool, next); // a leftover of an interrupted rebuild
    await buildHnswIndex(pool, space, options.build, next);
    await dropIndex(pool, name);
    await renameIndex(pool, next, name);
  } else {
    if (existing) await dropIndex(pool, name); // invalid: an interrupted concurrent build
    await buildHnswIndex(pool, space, options.build);
  }
}
