// A database built by the last release (b303886: 26 migrations, each redefining functions and views)
// upgrades to exactly the schema a fresh database gets from the squashed baseline and the
// definition files. The old migrations are read from git (`git archive b303886 sql/migrations`).
import test from 'ava';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { runMigrations } from 'graphile-worker';
import { runner } from 'node-pg-migrate';
import { adminQuery, createTestDatabase, databaseUrl, TEST_APPLICATION_ROLE } from './helpers/database.ts';
import { graphileLogger, migrate, MIGRATIONS_TABLE, pendingMigrations } from '../lib/db/migrate.ts';
import { BASELINE, BASELINE_RELEASE, SQUASHED_MIGRATIONS } from '../lib/db/baseline.ts';
import { dumpSchema, pgDumpMajor, schemaFingerprint } from '../lib/db/schemaDump.ts';
import { createLogger } from '../lib/log.ts';
import { testNeeding } from './helpers/needs.ts';

const log = createLogger('warn');
const adminUrl = process.env.TVDB_TEST_ADMIN_URL ?? process.env.TEST_DATABASE_URL!;
const repo = path.resolve(import.meta.dirname, '..');

function oldMigrations(): { dir: string; missing: string | null } {
  const dir = mkdtempSync(path.join(tmpdir(), 'tvdb-old-migrations-'));
  try {
    const tar = execFileSync('git', ['-C', repo, 'archive', BASELINE_RELEASE, 'sql/migrations'], {
      maxBuffer: 16 * 1024 * 1024,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    execFileSync('tar', ['x', '-C', dir], { input: tar });
    return { dir: path.join(dir, 'sql/migrations'), missing: null };
  } catch (error) {
    return { dir, missing: `git cannot read release ${BASELINE_RELEASE} (${(error as Error).message.split('\n')[0]})` };
  }
}

const old = oldMigrations();
test.after.always(() => rmSync(path.dirname(path.dirname(old.dir)), { recursive: true, force: true }));

/** A new database migrated by release b303886's migrations (up to `upTo` of them). */
async function oldDatabase(upTo = SQUASHED_MIGRATIONS.length) {
  const name = `tvdb_test_${randomBytes(6).toString('hex')}`;
  await adminQuery(`create database ${name}`);
  const url = databaseUrl(adminUrl, name);
  await runMigrations({ connectionString: url, logger: graphileLogger(log) });
  await runner({
    databaseUrl: url,
    dir: old.dir,
    direction: 'up',
    count: upTo,
    migrationsTable: MIGRATIONS_TABLE,
    checkOrder: true,
    logger: { debug: () => {}, info: () => {}, warn: () => {}, error: (m: string) => log.error(m) },
  });
  return { url, drop: () => adminQuery(`drop database if exists ${name} with (force)`) };
}

testNeeding(
  `a database migrated by release ${BASELINE_RELEASE} upgrades to the schema of a fresh one`,
  old.missing,
  async (t) => {
    const upgraded = await oldDatabase();
    const fresh = await createTestDatabase();
    try {
      const applied = (await migrate(upgraded.url, log, { appRole: TEST_APPLICATION_ROLE })).applied;
      t.false(applied.includes(BASELINE), 'the baseline does not run on an old database');
      const names = async (url: string) =>
        (await adminQuery(`select name from ${MIGRATIONS_TABLE} order by run_on, id`, url)).rows.map((r) => r.name);
      t.deepEqual(await names(upgraded.url), await names(fresh.ownerUrl));
      t.is((await names(upgraded.url))[0], BASELINE);
      t.is(await schemaFingerprint(upgraded.url), await schemaFingerprint(fresh.ownerUrl));
      const server = Number((await adminQuery('show server_version_num')).rows[0].server_version_num);
      if ((pgDumpMajor() ?? 0) >= Math.floor(server / 10000))
        t.is(await dumpSchema(upgraded.url), await dumpSchema(fresh.ownerUrl), 'pg_dump of the two');
      // Migrating again changes nothing.
      t.deepEqual((await migrate(upgraded.url, log, { appRole: TEST_APPLICATION_ROLE })).applied, []);
    } finally {
      await upgraded.drop();
      await fresh.drop();
    }
  },
);

testNeeding(
  `a database stopped part way through release ${BASELINE_RELEASE}'s migrations is refused, saying what to do`,
  old.missing,
  async (t) => {
    const partial = await oldDatabase(13);
    try {
      const error = await t.throwsAsync(migrate(partial.url, log, { appRole: TEST_APPLICATION_ROLE }));
      t.regex(
        error.message,
        new RegExp(`last migration is ${SQUASHED_MIGRATIONS[12]}.*migrate it with release ${BASELINE_RELEASE} first`),
      );
      const rows = await adminQuery(`select count(*)::int as n from ${MIGRATIONS_TABLE}`, partial.url);
      t.is(rows.rows[0].n, 13, 'nothing was changed');
    } finally {
      await partial.drop();
    }
  },
);

test('the definitions are applied when their digest differs from the recorded one, and /readyz sees the difference', async (t) => {
  const db = await createTestDatabase();
  try {
    const body = `select prosrc as s from pg_proc where proname = 'stage_task_payload'`;
    const original = (await adminQuery(body, db.ownerUrl)).rows[0].s;
    // A hand edit in the database, with the recorded digest untouched: migrate leaves it (nothing changed on disk).
    await adminQuery(
      `create or replace function stage_task_payload(p_job_id uuid, p_correlation_id text, p_extra jsonb default '{}')
       returns json language sql immutable as $$ select '{}'::json $$`,
      db.ownerUrl,
    );
    t.deepEqual(await pendingMigrations(db.pool), []);
    await migrate(db.ownerUrl, log, { appRole: TEST_APPLICATION_ROLE });
    t.not((await adminQuery(body, db.ownerUrl)).rows[0].s, original);
    // Files that differ from what the database recorded (a new release): pending, then applied.
    await adminQuery(`update applied_definitions set digest = 'an older release'`, db.ownerUrl);
    t.deepEqual(await pendingMigrations(db.pool), ['sql/functions, sql/views (changed since the last tvdb migrate)']);
    await migrate(db.ownerUrl, log, { appRole: TEST_APPLICATION_ROLE });
    t.is((await adminQuery(body, db.ownerUrl)).rows[0].s, original);
    t.deepEqual(await pendingMigrations(db.pool), []);
  } finally {
    await db.drop();
  }
});
