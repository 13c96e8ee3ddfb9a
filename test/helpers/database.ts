// A throwaway database per test file, created in milliseconds from a migrated template
// (CREATE DATABASE ... TEMPLATE), the idea of @databases/pg-test on a Postgres that exists here.
// test/run.ts prepares the server and the template once per run and passes them in the
// environment; a file run on its own (npx ava test/x.test.ts) builds its own template.
import { randomBytes } from 'node:crypto';
import { sql, type DatabasePool } from 'slonik';
import { createDatabasePool, EMBEDDED_APPLICATION_ROLE } from '../../lib/db/database.ts';
import { urlAsRole } from '../../lib/db/applicationRole.ts';
import { adminQuery as adminQueryOn, databaseUrl } from '../../lib/db/admin.ts';
import { migrate } from '../../lib/db/migrate.ts';
import { createLogger } from '../../lib/log.ts';

/**
 * `url` and `pool` connect as the application role, as the pipeline does (so a missing grant fails
 * a test); `ownerUrl` and `ownerPool` as the owner, for fixtures the application may not write
 * (backdated history, the transition table).
 */
export type TestDatabase = {
  name: string;
  url: string;
  pool: DatabasePool;
  ownerUrl: string;
  ownerPool: DatabasePool;
  drop(): Promise<void>;
};

/** The application role of test databases (the same one the embedded default uses). */
export const TEST_APPLICATION_ROLE = EMBEDDED_APPLICATION_ROLE;

const adminUrl = () => {
  const url = process.env.TVDB_TEST_ADMIN_URL ?? process.env.TEST_DATABASE_URL;
  if (!url) throw new Error('run the tests with "npm test" (or set TEST_DATABASE_URL to a PostgreSQL server URL)');
  return url;
};

export { databaseUrl };

export const adminQuery = (statement: string, url = adminUrl()) => adminQueryOn(statement, url);

let ownTemplate: Promise<string> | undefined;

async function templateName(): Promise<string> {
  if (process.env.TVDB_TEST_TEMPLATE) return process.env.TVDB_TEST_TEMPLATE;
  ownTemplate ??= (async () => {
    const name = `tvdb_tpl_${process.pid}_${randomBytes(3).toString('hex')}`;
    await adminQuery(`create database ${name}`);
    await migrate(databaseUrl(adminUrl(), name), createLogger('warn'), { appRole: TEST_APPLICATION_ROLE });
    return name;
  })();
  return ownTemplate;
}

/** An empty migrated database, its slonik pool, and drop(). */
export async function createTestDatabase(options: { poolSize?: number } = {}): Promise<TestDatabase> {
  const template = await templateName();
  const name = `tvdb_test_${randomBytes(6).toString('hex')}`;
  // Creating from a template fails while anyone else is connected to the template: retry briefly.
  for (let attempt = 0; ; attempt++) {
    try {
      await adminQuery(`create database ${name} template ${template}`);
      break;
    } catch (error) {
      if ((error as { code?: string }).code !== '55006' || attempt > 50) throw error;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  const ownerUrl = databaseUrl(adminUrl(), name);
  const url = urlAsRole(ownerUrl, TEST_APPLICATION_ROLE);
  const pool = await createDatabasePool(url, options.poolSize ?? 5);
  const ownerPool = await createDatabasePool(ownerUrl, 2); // connects on first use
  return {
    name,
    url,
    pool,
    ownerUrl,
    ownerPool,
    drop: async () => {
      await pool.end();
      await ownerPool.end();
      await adminQuery(`drop database if exists ${name} with (force)`);
    },
  };
}

export { written, writtenSql } from '../../lib/db/writtenSql.ts';
