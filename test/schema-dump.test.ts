import test from 'ava';
import { readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { runMigrations } from 'graphile-worker';
import { createTestDatabase, adminQuery, databaseUrl } from './helpers/database.ts';
import { dumpSchema, pgDumpMajor, normaliseDump, schemaFingerprint } from '../lib/db/schemaDump.ts';
import { graphileLogger } from '../lib/db/migrate.ts';
import { createLogger } from '../lib/log.ts';
import { testNeeding } from './helpers/needs.ts';

const committed = readFileSync(new URL('../sql/schema.sql', import.meta.url), 'utf8');
const serverMajor = Math.floor(
  Number((await adminQuery('show server_version_num')).rows[0].server_version_num) / 10000,
);
const dumpMajor = pgDumpMajor();
const adminUrl = process.env.TVDB_TEST_ADMIN_URL ?? process.env.TEST_DATABASE_URL!;

// pg_dump refuses servers newer than itself, and its text differs slightly between server versions:
// the committed dump is PostgreSQL 15's (the version CI's second pass runs on). The PG 15 pass
// compares the text; every pass (the embedded PostgreSQL 18 has no pg_dump) compares the catalogs
// of a database loaded from sql/schema.sql with those of a migrated one, below.
const textTitle =
  'sql/schema.sql is, to the letter, what the migrations and definitions build (run npm run schema:dump)';
async function compareText(t: import('ava').ExecutionContext) {
  const db = await createTestDatabase();
  try {
    t.is(await dumpSchema(db.url), committed);
  } finally {
    await db.drop();
  }
}
if (serverMajor !== 15)
  test.skip(`${textTitle} [PostgreSQL 15 only; this is ${serverMajor}: compared by catalogs below]`, compareText);
else
  testNeeding(
    textTitle,
    dumpMajor === null || dumpMajor < 15 ? `pg_dump >= 15 (found ${dumpMajor ?? 'none'})` : null,
    compareText,
  );

test('a database loaded from sql/schema.sql has the schema and rule rows of a migrated one (any server version)', async (t) => {
  const migrated = await createTestDatabase();
  const name = `tvdb_test_${randomBytes(6).toString('hex')}`;
  await adminQuery(`create database ${name}`);
  const loadedUrl = databaseUrl(adminUrl, name);
  try {
    // Our views read graphile-worker's jobs view: its schema first, as migrate does.
    await runMigrations({ connectionString: loadedUrl, logger: graphileLogger(createLogger('warn')) });
    const client = new pg.Client({ connectionString: loadedUrl });
    await client.connect();
    try {
      await client.query('set check_function_bodies = off'); // what pg_dump's own header sets
      await client.query(committed);
    } finally {
      await client.end();
    }
    const [loaded, built] = await Promise.all([schemaFingerprint(loadedUrl), schemaFingerprint(migrated.ownerUrl)]);
    t.true(built.includes('row pipeline_stages {"stage":"parse"'), 'the fingerprint holds the stage rows');
    t.is(loaded, built, 'sql/schema.sql is stale: run npm run schema:dump');
  } finally {
    await migrated.drop();
    await adminQuery(`drop database if exists ${name} with (force)`);
  }
});

test('normaliseDump drops comments, SET lines and pg_dump restrict keys', (t) => {
  const out = normaliseDump('--\n-- c\nSET x = 1;\n\\restrict abc\nCREATE TABLE a();\n\n\n\n\\unrestrict abc\n');
  t.is(out, 'CREATE TABLE a();\n');
});
