// Server-level operations on a PostgreSQL server (creating and dropping databases), on a plain pg
// client of their own: used by the embedded default, the test runner, benchmarks and scripts.
import pg from 'pg';

/** The URL of another database on the same server. */
export function databaseUrl(admin: string, name: string) {
  const url = new URL(admin);
  url.pathname = `/${name}`;
  return url.toString();
}

/** One statement (written out in full, never built from input) on its own connection. */
export async function adminQuery(statement: string, url: string) {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await client.query(statement);
  } finally {
    await client.end();
  }
}

export async function createDatabaseIfMissing(adminUrl: string, name: string) {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    const { rowCount } = await client.query('select 1 from pg_database where datname = $1', [name]);
    if (!rowCount) await client.query(`create database ${client.escapeIdentifier(name)}`);
  } catch (error) {
    if ((error as { code?: string }).code !== '42P04') throw error; // created concurrently: fine
  } finally {
    await client.end();
  }
}
