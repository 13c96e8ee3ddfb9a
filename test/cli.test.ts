import test from 'ava';
import { chownSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { sql } from 'slonik';
import { adminQuery, createTestDatabase, databaseUrl } from './helpers/database.ts';
import { insertJob } from './helpers/jobs.ts';
import { cleanEnv, embeddedRunning, freePort, isListening, PROJECT_DIR, runTvdb } from './helpers/cli.ts';
import { advanceJob } from '../lib/jobs/advanceJob.ts';

const admin = process.env.TVDB_TEST_ADMIN_URL!;
const MIGRATIONS = readdirSync(new URL('../sql/migrations', import.meta.url)).filter((f) => f.endsWith('.sql')).length;

test("tvdb migrate applies our migrations and graphile-worker's schema; a second run changes nothing", async (t) => {
  const name = `tvdb_test_${randomBytes(6).toString('hex')}`;
  await adminQuery(`create database ${name}`, admin);
  try {
    const env = cleanEnv({ DATABASE_URL: databaseUrl(admin, name) });
    const first = await runTvdb(['migrate'], env);
    t.is(first.code, 0, first.stderr);
    t.regex(first.stdout, new RegExp(`applied ${MIGRATIONS} migration\\(s\\): 000001_baseline, `));
    t.false(first.stdout.includes(new URL(admin).password || '\u0000'), 'no password in output');
    const second = await runTvdb(['migrate', '--json'], env);
    t.is(second.code, 0, second.stderr);
    t.deepEqual(JSON.parse(second.stdout).applied, []);
    const schemas = await adminQuery(`select 1`, databaseUrl(admin, name)).then(() =>
      adminQuery(`select nspname from pg_namespace where nspname = 'graphile_worker'`, databaseUrl(admin, name)),
    );
    t.is(schemas.rowCount, 1);
  } finally {
    await adminQuery(`drop database ${name} with (force)`, admin);
  }
});

test('tvdb status shows every state; --json is machine-readable; one job shows its timeline', async (t) => {
  const db = await createTestDatabase();
  try {
    const job = await insertJob(db.pool, { correlationId: 'corr-cli' });
    await advanceJob(db.pool, job.id, 'uploaded', 'parse_queued');
    const env = cleanEnv({ DATABASE_URL: db.url });
    const text = await runTvdb(['status'], env);
    t.is(text.code, 0, text.stderr);
    t.regex(text.stdout, /parse_queued\s+1/);
    const json = await runTvdb(['status', '--json'], env);
    const rows = JSON.parse(json.stdout) as Array<{ state: string; jobs: number }>;
    t.is(rows.length, 12);
    t.is(rows.find((r) => r.state === 'parse_queued')!.jobs, 1);
    const one = await runTvdb(['status', job.id], env);
    t.is(one.code, 0, one.stderr);
    t.regex(one.stdout, /uploaded -> parse_queued/);
    t.regex(one.stdout, /corr-cli/);
    const oneJson = JSON.parse((await runTvdb(['status', job.id, '--json'], env)).stdout);
    t.deepEqual(
      oneJson.timeline.map((e: { state: string }) => e.state),
      ['uploaded', 'parse_queued'],
    );
    const missing = await runTvdb(['status', '00000000-0000-0000-0000-000000000000'], env);
    t.is(missing.code, 1);
    t.regex(missing.stderr, /no job/);
    const bad = await runTvdb(['status', 'not-a-uuid'], env);
    t.is(bad.code, 2);
    t.regex(bad.stderr, /not a job id/);
  } finally {
    await db.drop();
  }
});

test('a bad configuration value stops start-up with a message naming the variable', async (t) => {
  const result = await runTvdb(['status'], cleanEnv({ TVDB_EMBEDDED_PORT: 'eighty', DATABASE_URL: 'mysql://x' }));
  t.is(result.code, 78);
  t.regex(result.stderr, /TVDB_EMBEDDED_PORT/);
  t.regex(result.stderr, /DATABASE_URL: a postgres:\/\/ connection URL/);
});

test('tvdb --help lists the commands; an unknown command exits 2', async (t) => {
  const help = await runTvdb(['--help'], cleanEnv());
  t.is(help.code, 0);
  t.regex(help.stdout, /migrate/);
  t.regex(help.stdout, /status/);
  const unknown = await runTvdb(['frobnicate'], cleanEnv());
  t.is(unknown.code, 2);
  t.regex(unknown.stderr, /unknown command "frobnicate"/);
  const commandHelp = await runTvdb(['status', '--help'], cleanEnv());
  t.regex(commandHelp.stdout, /Usage: tvdb status/);
});

test('without DATABASE_URL an embedded PostgreSQL is created in TVDB_DATA_DIR and stopped on exit', async (t) => {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'tvdb-cli-'));
  const port = await freePort();
  try {
    const env = cleanEnv({ TVDB_DATA_DIR: dataDir, TVDB_EMBEDDED_PORT: String(port) });
    const first = await runTvdb(['migrate'], env);
    t.is(first.code, 0, first.stderr);
    t.regex(first.stdout, /embedded PostgreSQL/);
    t.false(embeddedRunning(dataDir) || (await isListening(port)), 'the server stopped when the command exited');
    const status = await runTvdb(['status', '--json'], env);
    t.is(status.code, 0, status.stderr);
    t.is(JSON.parse(status.stdout).length, 12);
    t.false(embeddedRunning(dataDir) || (await isListening(port)));
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
});

const projectReachable = (() => {
  for (let d = PROJECT_DIR; d !== path.dirname(d); d = path.dirname(d))
    if ((statSync(d).mode & 0o005) !== 0o005) return false;
  return true;
})();

(userInfo().uid === 0 && projectReachable ? test : test.skip)(
  'the embedded default also works for a normal user',
  async (t) => {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'tvdb-user-'));
    chownSync(dataDir, 65534, 65534);
    try {
      const env = cleanEnv({
        TVDB_DATA_DIR: path.join(dataDir, 'data'),
        TVDB_EMBEDDED_PORT: String(await freePort()),
        HOME: dataDir,
      });
      const result = await runTvdb(['migrate'], env, { uid: 65534, gid: 65534, cwd: dataDir });
      t.is(result.code, 0, result.stderr);
      t.regex(result.stdout, new RegExp(`applied ${MIGRATIONS} migration`));
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  },
);

test('slonik reports our custom SQLSTATE intact', async (t) => {
  const db = await createTestDatabase();
  try {
    const error = await t.throwsAsync(
      db.pool.query(sql.unsafe`select advance_job(gen_random_uuid(), 'uploaded', 'parse_queued')`),
    );
    t.regex(String(error?.message) + String((error?.cause as Error)?.message), /does not exist/);
  } finally {
    await db.drop();
  }
});
