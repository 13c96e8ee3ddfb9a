// The HNSW indexes over the embeddings table, one per vector space (model, dimensions). Vectors
// stay where the embed stage writes them (`embeddings.vector`, real[]); each index is a partial
// expression index over the cast of that column to vector(N) (halfvec(N) above 2,000 dimensions),
// so moving to pgvector re-embeds nothing and copies nothing: building the index is the move.
import { sql, type CommonQueryMethods, type DatabasePool } from 'slonik';
import { z } from 'zod';
import { written } from '../db/writtenSql.ts';
import { hnswIndexName, indexedTypeFor, type VectorSpace } from './hnswIndex.ts';

export type HnswBuildSettings = { m: number; efConstruction: number; maintenanceWorkMem: string };

/** `vector(256)` / `halfvec(3072)`: the cast both the index and the query must spell alike. */
export function indexedCast(space: VectorSpace) {
  const type = indexedTypeFor(space.dimensions);
  if (!type) throw new RangeError(`${space.dimensions} dimensions are too many for an HNSW index`);
  return sql.fragment(written(`${type}(${space.dimensions})`));
}

/** The spaces present in the embeddings table, with their vector counts. */
export async function vectorSpaces(db: CommonQueryMethods) {
  return db.any(sql.type(z.object({ model: z.string(), dimensions: z.number(), vectors: z.number() }))`
    select model, dimensions, count(*)::int as vectors from embeddings group by model, dimensions order by model, dimensions`);
}

const IndexRow = z.object({ valid: z.boolean(), size_bytes: z.number(), definition: z.string() });
export type IndexInfo = z.infer<typeof IndexRow> & { name: string };

/** The space's index as the catalog has it (null: none). `valid` is false after an interrupted build. */
export async function findHnswIndex(
  db: CommonQueryMethods,
  space: VectorSpace,
  name = hnswIndexName(space),
): Promise<IndexInfo | null> {
  const row = await db.maybeOne(sql.type(IndexRow)`
    select i.indisvalid as valid, pg_relation_size(i.indexrelid)::float8 as size_bytes, pg_get_indexdef(i.indexrelid) as definition
    from pg_index i where i.indexrelid = to_regclass(${name})`);
  return row ? { name, ...row } : null;
}

/** Builds the space's index without blocking writers (CREATE INDEX CONCURRENTLY), on a connection of
 * its own: no statement timeout (a million vectors take minutes), the build's memory set for it. */
export async function buildHnswIndex(
  pool: DatabasePool,
  space: VectorSpace,
  settings: HnswBuildSettings,
  name = hnswIndexName(space),
) {
  const { m, efConstruction } = settings;
  if (!Number.isSafeInteger(m) || !Number.isSafeInteger(efConstruction))
    throw new RangeError('m and ef_construction are whole numbers');
  const type = indexedTypeFor(space.dimensions);
  const cast = indexedCast(space);
  const opclass = sql.fragment(written(`${type}_ip_ops`));
  const options = sql.fragment(written(`with (m = ${m}, ef_construction = ${efConstruction})`));
  const dimensions = sql.fragment(written(String(space.dimensions)));
  await pool.connect(async (connection) => {
    await connection.query(sql.unsafe`select set_config('statement_timeout', '0', false)`);
    try {
      await connection.query(
        sql.unsafe`select set_config('maintenance_work_mem', ${settings.maintenanceWorkMem}, false)`,
      );
      await connection.query(sql.unsafe`
        create index concurrently ${sql.identifier([name])} on embeddings
        using hnsw ((vector::${cast}) ${opclass}) ${options}
        where model = ${sql.literalValue(space.model)} and dimensions = ${dimensions}`);
      await connection.query(sql.unsafe`analyze embeddings`);
    } finally {
      // The pool does not reset connections (lib/db/database.ts): back to the session's defaults.
      await connection.query(sql.unsafe`reset statement_timeout`);
      await connection.query(sql.unsafe`reset maintenance_work_mem`);
    }
  });
}

/** Drops an index (an interrupted build's leftover, or one being rebuilt) without blocking writers. */
export async function dropIndex(db: CommonQueryMethods, name: string) {
  await db.query(sql.unsafe`drop index concurrently if exists ${sql.identifier([name])}`);
}

export async function renameIndex(db: CommonQueryMethods, from: string, to: string) {
  await db.query(sql.unsafe`alter index ${sql.identifier([from])} rename to ${sql.identifier([to])}`);
}

/** How far the index builds running now have got (pgvector reports tuples loaded into the graph). */
export async function indexBuildProgress(db: CommonQueryMethods) {
  return db.any(sql.type(z.object({ index: z.string().nullable(), phase: z.string(), tuples_done: z.number() }))`
    select p.index_relid::regclass::text as index, p.phase, p.tuples_done::float8 as tuples_done
    from pg_stat_progress_create_index p where p.relid = to_regclass('embeddings')`);
}

const SpaceState = z.object({ pgvector: z.boolean(), index_valid: z.boolean(), index_vectors: z.number() });

/** What a search of this space can use, in one round trip: pgvector created in the database, a
 * valid HNSW index for the space, and how many vectors the index holds by the catalog's estimate
 * (kept by VACUUM, ANALYZE and the build; -1: not known). */
export async function spaceSearchState(db: CommonQueryMethods, space: VectorSpace) {
  return db.one(sql.type(SpaceState)`
    select exists (select 1 from pg_extension where extname = 'vector') as pgvector,
           coalesce(i.indisvalid, false) as index_valid, coalesce(c.reltuples, -1)::float8 as index_vectors
    from (select to_regclass(${hnswIndexName(space)}) as oid) x
    left join pg_index i on i.indexrelid = x.oid left join pg_class c on c.oid = x.oid`);
}
