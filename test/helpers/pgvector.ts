// pgvector on the test server: the PostgreSQL 15 pass of CI builds and installs it (.ci/run sets
// TVDB_TEST_EXPECT_PGVECTOR=1, so its absence fails there); the embedded PostgreSQL 18 has none,
// and the tests that need it skip with a message.
import test, { type ExecutionContext } from 'ava';
import { adminQuery } from './database.ts';

export const PGVECTOR_ON_SERVER =
  (await adminQuery(`select 1 from pg_available_extensions where name = 'vector'`)).rowCount === 1;
export const EXPECT_PGVECTOR = process.env.TVDB_TEST_EXPECT_PGVECTOR === '1';
export const PGVECTOR_MISSING =
  'pgvector is not installed on this PostgreSQL server: HNSW tests skipped (.ci/run builds it for the PostgreSQL 15 pass)';

/** test.serial where pgvector is installed; else a skip, or a failure where CI expects it. */
export function pgvectorTest(title: string, body: (t: ExecutionContext) => Promise<void>) {
  if (PGVECTOR_ON_SERVER) return test.serial(title, body);
  if (EXPECT_PGVECTOR)
    return test.serial(title, (t) => t.fail(`TVDB_TEST_EXPECT_PGVECTOR=1 but ${PGVECTOR_MISSING.split(':')[0]}`));
  return test.skip(`${title} (${PGVECTOR_MISSING})`, () => {});
}
