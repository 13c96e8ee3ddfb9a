// A throwaway database per test file, created in milliseconds from a migrated template
// (CREATE DATABASE ... TEMPLATE), the idea of @databases/pg-test on a Postgres that exists here.
// test/run.ts prepares the server and the template once per run and passes them in the
// environment; a file run on its own (npx ava test/x.test.ts) builds its own template.
import { randomBytes } from 'node:crypto';
import { sql, type DatabasePool } from 'slonik';
import { createDatabasePool } from '../../lib/db/database.ts';
import { adminQuery as adminQueryOn, databaseUrl } from '../../lib/db/admin.ts';
import { migrate } from '../../lib/db/migrate.ts';
import { createLogger } from '../../lib/log.ts';

export type TestDatabase = { name: string; url: string; pool: DatabasePool; drop(): Promise<void> };

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
    await migrate(databaseUrl(adminUrl(), name), createLogger('warn'));
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
  const url = databaseUrl(adminUrl(), name);
  const pool = await createDatabasePool(url, options.poolSize ?? 5);
  return {
    name,
    url,
    pool,
    drop: async () => {
      await pool.end();
      await adminQuery(`drop database if exists ${name} with (force)`);
    },
  };
}

export { written, writtenSql } from '../../lib/db/writtenSql.ts';
