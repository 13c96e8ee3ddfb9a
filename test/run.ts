// npm test: prepares PostgreSQL once for the whole run, then runs ava.
// - TEST_DATABASE_URL set: use that server (e.g. the local PostgreSQL 15).
// - unset: start an embedded PostgreSQL in a temporary directory, stopped at the end.
// Either way one migrated template database is built, each test file clones it, and the
// template is dropped when the run ends.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { createLogger } from '../lib/log.ts';
import { migrate } from '../lib/db/migrate.ts';
import { startEmbeddedPostgres } from '../lib/db/embedded.ts';
import { adminQuery, databaseUrl, TEST_APPLICATION_ROLE } from './helpers/database.ts';
import { freePort } from './helpers/cli.ts';

const log = createLogger(process.env.LOG_LEVEL ?? 'warn');
let adminUrl = process.env.TEST_DATABASE_URL;
let release = async () => {};
let dataDir: string | undefined;

if (!adminUrl) {
  dataDir = mkdtempSync(path.join(tmpdir(), 'tvdb-test-'));
  const server = await startEmbeddedPostgres({ dataDir, port: await freePort(), log, durable: false });
  adminUrl = server.urlFor('postgres');
  release = server.release;
}
const version = (await adminQuery('show server_version', adminUrl)).rows[0].server_version;
console.log(`tests: PostgreSQL ${version} (${process.env.TEST_DATABASE_URL ? 'TEST_DATABASE_URL' : 'embedded'})`);

const template = `tvdb_tpl_${randomBytes(4).toString('hex')}`;
await adminQuery(`create database ${template}`, adminUrl);
let code = 1;
try {
  await migrate(databaseUrl(adminUrl, template), log, { appRole: TEST_APPLICATION_ROLE });
  code = await new Promise<number>((resolve) => {
    const child = spawn(
      process.execPath,
      [path.resolve('node_modules/ava/entrypoints/cli.mjs'), ...process.argv.slice(2)],
      {
        stdio: 'inherit',
        env: { ...process.env, TVDB_TEST_ADMIN_URL: adminUrl, TVDB_TEST_TEMPLATE: template },
      },
    );
    const forward = (signal: NodeJS.Signals) => child.kill(signal);
    process.on('SIGINT', forward).on('SIGTERM', forward);
    child.on('exit', (c, signal) => resolve(c ?? (signal ? 1 : 0)));
  });
} finally {
  await adminQuery(`drop database if exists ${template} with (force)`, adminUrl).catch(() => {});
  // Databases of test files that crashed before their cleanup.
  const left = await adminQuery(
    `select datname from pg_database where datname like 'tvdb_test_%' or datname like 'tvdb_tpl_%'`,
    adminUrl,
  ).catch(() => ({ rows: [] }));
  if (!process.env.TEST_DATABASE_URL) {
    await release();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  } else if (left.rows.length) {
    console.log(`tests: ${left.rows.length} leftover test database(s) on the server (another run may be using them)`);
  }
}
process.exit(code);
