// Least privilege: the pipeline's application role (what every pool in these tests connects as)
// does its work, and cannot disable triggers, set session_replication_role, write the transition
// table, write job_events except through the trigger and notes, or rewrite the ledger. `tvdb
// migrate` creates and grants it, idempotently, from several databases at once.
import test from 'ava';
import { randomBytes } from 'node:crypto';
import { sql } from 'slonik';
import { z } from 'zod';
import {
  adminQuery,
  createTestDatabase,
  databaseUrl,
  TEST_APPLICATION_ROLE,
  type TestDatabase,
} from './helpers/database.ts';
import { insertJob } from './helpers/jobs.ts';
import { recordEmbeddingCost } from './helpers/costs.ts';
import { advanceJob } from '../lib/jobs/advanceJob.ts';
import { addJobNote } from '../lib/jobs/jobNotes.ts';
import { migrate } from '../lib/db/migrate.ts';
import { createLogger } from '../lib/log.ts';
import { urlAsRole } from '../lib/db/applicationRole.ts';
import { cleanEnv, runTvdb } from './helpers/cli.ts';

let db: TestDatabase;
test.before(async () => (db = await createTestDatabase()));
test.after.always(() => db?.drop());

const sqlState = (error: unknown) =>
  (error as { cause?: { code?: string }; code?: string }).cause?.code ?? (error as { code?: string }).code;

test('the application role works the pipeline: jobs, moves, notes, ledger inserts; events say who', async (t) => {
  const job = await insertJob(db.pool);
  await advanceJob(db.pool, job.id, 'uploaded', 'parse_queued');
  await addJobNote(db.pool, job.id, { event: 'stage_busy', stage: 'parse' });
  await recordEmbeddingCost(db.pool, job.id, 10, 1);
  const who = await db.pool.anyFirst(
    sql.type(
      z.object({ who: z.string() }),
    )`select detail ->> 'who' as who from job_events where job_id = ${job.id}::uuid and kind = 'transition'`,
  );
  t.deepEqual(who, [TEST_APPLICATION_ROLE.name]);
  const owned = await db.pool.oneFirst(sql.type(z.object({ n: z.number() }))`
    select count(*)::int as n from pg_class where relowner = (select oid from pg_roles where rolname = current_user)`);
  t.is(owned, 0, 'owns nothing');
});

test('the application role cannot disable triggers, replicate, or rewrite history, rules or the ledger', async (t) => {
  const job = await insertJob(db.pool);
  await recordEmbeddingCost(db.pool, job.id, 10, 1);
  const refused = [
    sql.unsafe`alter table jobs disable trigger all`,
    sql.unsafe`alter table job_events disable trigger _100_append_only`,
    sql.unsafe`set session_replication_role = replica`,
    sql.unsafe`insert into job_state_transitions (from_state, to_state) values ('uploaded', 'complete')`,
    sql.unsafe`delete from job_state_transitions`,
    sql.unsafe`update job_state_transitions set to_state = 'complete'`,
    sql.unsafe`insert into job_events (job_id, kind, to_state, correlation_id) values (${job.id}::uuid, 'note', 'complete', 'forged')`,
    sql.unsafe`update job_events set detail = '{}'`,
    sql.unsafe`delete from job_events`,
    sql.unsafe`update cost_ledger set cost_micro_usd = 0`,
    sql.unsafe`delete from cost_ledger`,
    sql.unsafe`truncate cost_ledger`,
    sql.unsafe`update pipeline_stages set failed = 'complete'`,
    sql.unsafe`insert into price_catalog (service, sku, unit, amount, effective_from, source) values ('embeddings', 'x', 'micro_usd_per_1m_tokens', 0, now(), 'forged')`,
    sql.unsafe`select grant_application_role(current_user)`,
    sql.unsafe`create table mine (id int)`,
  ];
  for (const statement of refused) {
    const error = await t.throwsAsync(db.pool.query(statement), undefined, statement.sql);
    t.true(['42501'].includes(sqlState(error)!), `${statement.sql}: ${sqlState(error)}`);
  }
});

test('migrations and grants: several databases at once, twice, leave one role that can log in and owns nothing', async (t) => {
  const names = Array.from({ length: 3 }, () => `tvdb_test_${randomBytes(6).toString('hex')}`);
  const admin = process.env.TVDB_TEST_ADMIN_URL!;
  for (const name of names) await adminQuery(`create database ${name}`);
  try {
    const log = createLogger('silent');
    const all = () =>
      Promise.all(names.map((name) => migrate(databaseUrl(admin, name), log, { appRole: TEST_APPLICATION_ROLE })));
    await all();
    const again = await all();
    t.deepEqual(
      again.map((r) => r.applied),
      [[], [], []],
      'the second run changes nothing',
    );
    const role = await adminQuery(
      `select rolcanlogin, rolsuper, rolcreaterole, rolcreatedb from pg_roles where rolname = '${TEST_APPLICATION_ROLE.name}'`,
    );
    t.deepEqual(role.rows, [{ rolcanlogin: true, rolsuper: false, rolcreaterole: false, rolcreatedb: false }]);
    const asApp = await adminQuery(
      'select current_user as u',
      urlAsRole(databaseUrl(admin, names[0]!), TEST_APPLICATION_ROLE),
    );
    t.is(asApp.rows[0].u, TEST_APPLICATION_ROLE.name);
  } finally {
    for (const name of names) await adminQuery(`drop database if exists ${name} with (force)`);
  }
});

test('tvdb migrate creates the role DATABASE_URL names, with its password; the commands then run as it', async (t) => {
  const role = `tvdb_app_t${randomBytes(4).toString('hex')}`;
  const name = `tvdb_test_${randomBytes(6).toString('hex')}`;
  const admin = process.env.TVDB_TEST_ADMIN_URL!;
  await adminQuery(`create database ${name}`);
  const owner = databaseUrl(admin, name);
  const app = urlAsRole(owner, { name: role, password: 'pw-' + randomBytes(8).toString('hex') });
  try {
    const env = cleanEnv({ TVDB_MIGRATION_DATABASE_URL: owner, DATABASE_URL: app });
    const migrated = await runTvdb(['migrate'], env);
    t.is(migrated.code, 0, migrated.stderr);
    t.regex(migrated.stdout, new RegExp(`application role ${role} granted`));
    const status = await runTvdb(['status', '--json'], cleanEnv({ DATABASE_URL: app }));
    t.is(status.code, 0, status.stderr);
    t.notRegex(status.stderr, /owner of the tables/);
    // The same URL for both is refused: the application would own the schema.
    const same = await runTvdb(['migrate'], cleanEnv({ TVDB_MIGRATION_DATABASE_URL: owner, DATABASE_URL: owner }));
    t.is(same.code, 1);
    t.regex(same.stderr, /give DATABASE_URL a role of its own/);
    // DATABASE_URL alone, as the owner (the old single-URL setup), still works, with a warning.
    const legacy = await runTvdb(['status', '--json'], cleanEnv({ DATABASE_URL: owner }));
    t.is(legacy.code, 0, legacy.stderr);
    t.regex(legacy.stderr, /DATABASE_URL connects as the owner of the tables/);
  } finally {
    await adminQuery(`drop database if exists ${name} with (force)`);
    await adminQuery(`drop role if exists ${role}`);
  }
});
