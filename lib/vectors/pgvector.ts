// Is pgvector installed on the server (a package or a build put its files there) and created in
// this database? Search and `tvdb vectors` ask; only `tvdb vectors reindex` creates it.
import { sql, type CommonQueryMethods } from 'slonik';
import { z } from 'zod';

export type PgvectorState = {
  /** The version the server offers (null: pgvector is not installed on the server). */
  available: string | null;
  /** The version created in this database (null: not created). */
  installed: string | null;
};

export async function pgvectorState(db: CommonQueryMethods): Promise<PgvectorState> {
  const row = await db.maybeOne(sql.type(
    z.object({ available: z.string().nullable(), installed: z.string().nullable() }),
  )`
    select default_version as available, installed_version as installed from pg_available_extensions where name = 'vector'`);
  return { available: row?.available ?? null, installed: row?.installed ?? null };
}

/** `create extension vector`: needs a superuser (pgvector is not a trusted extension). */
export async function createVectorExtension(db: CommonQueryMethods) {
  await db.query(sql.unsafe`create extension if not exists vector`);
}
