// The embedded PostgreSQL lets nobody else in: its superuser's password is random, generated when
// the cluster is made and kept in a 0600 file of the data directory (the same one on every start),
// and the server listens on a Unix socket in its own 0700 data directory, on no TCP port (on
// 127.0.0.1 only when the socket's path is too long). A data directory made by the old code (the
// fixed password "tvdb-embedded") gets a random password at its first start with this code.
import test from 'ava';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import pg from 'pg';
import { startEmbeddedPostgres } from '../lib/db/embedded.ts';
import { freePort } from '../lib/http/freePort.ts';
import { createLogger } from '../lib/log.ts';
import { cleanEnv, isListening, runTvdb } from './helpers/cli.ts';

function capture() {
  const lines: Array<Record<string, unknown>> = [];
  const stream = new Writable({
    write(chunk, _enc, done) {
      for (const line of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(line));
      done();
    },
  });
  return { lines, log: createLogger('info', stream) };
}

function dataDirectory(t: { teardown(fn: () => void): void }, name = 'tvdb-embedded-') {
  const dir = mkdtempSync(path.join(tmpdir(), name));
  chmodSync(dir, 0o755); // the server may run as the postgres user
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** How a login with `password` over `host` (a socket directory or an address) ends: 'ok' or the error code. */
async function login(host: string, port: number, password: string, user = 'postgres'): Promise<string> {
  const client = new pg.Client({ host, port, user, password, database: 'postgres' });
  client.on('error', () => {});
  try {
    await client.connect();
    await client.query('select 1');
    return 'ok';
  } catch (error) {
    return (error as { code?: string }).code ?? String(error);
  } finally {
    await client.end().catch(() => {});
  }
}

const postmaster = (dataDir: string) => readFileSync(path.join(dataDir, 'pg', 'postmaster.pid'), 'utf8').split('\n');

test('a new data directory: a random superuser password in a 0600 file, a Unix socket and no TCP port', async (t) => {
  const dataDir = dataDirectory(t);
  const port = await freePort();
  const { log } = capture();
  let server = await startEmbeddedPostgres({ dataDir, port, log, durable: false });
  t.teardown(() => server.stop());
  const file = path.join(dataDir, 'superuser-password');
  t.is(statSync(file).mode & 0o777, 0o600);
  const password = readFileSync(file, 'utf8').trim();
  t.true(password.length >= 40 && password !== 'tvdb-embedded');
  const pgdata = path.join(dataDir, 'pg');
  const lines = postmaster(dataDir);
  t.is(lines[4], pgdata, 'the socket is in the data directory');
  t.is(lines[5]!.trim(), '', 'no TCP address');
  t.false(await isListening(port), 'nothing on the TCP port');
  t.is(statSync(pgdata).mode & 0o077, 0, 'only the server reaches its socket');
  t.is(await login(pgdata, port, password), 'ok');
  t.is(await login(pgdata, port, 'tvdb-embedded'), '28P01', 'the old fixed password is refused');
  t.false(server.urlFor('postgres').includes('127.0.0.1'));
  const admin = new pg.Client({ connectionString: server.urlFor('postgres') });
  await admin.connect();
  t.is((await admin.query('select current_user as u')).rows[0].u, 'postgres');
  await admin.end();

  await server.stop();
  server = await startEmbeddedPostgres({ dataDir, port, log, durable: false });
  t.is(readFileSync(file, 'utf8').trim(), password, 'the same password on the next start');
  t.is(await login(pgdata, port, password), 'ok');
});

test('a data directory of the old code (fixed password) gets a random one at its first start', async (t) => {
  const dataDir = dataDirectory(t);
  const port = await freePort();
  const pgdata = path.join(dataDir, 'pg');
  const file = path.join(dataDir, 'superuser-password');
  let server = await startEmbeddedPostgres({ dataDir, port, log: createLogger('silent'), durable: false });
  t.teardown(() => server.stop());
  // What the old code left: the fixed password, and no password file.
  const makeOld = async () => {
    const admin = new pg.Client({ connectionString: server.urlFor('postgres') });
    await admin.connect();
    await admin.query(`alter role postgres password 'tvdb-embedded'`);
    await admin.end();
    unlinkSync(file);
  };
  await makeOld();
  // Its server still running: the next process rotates the password as it joins.
  const joined = capture();
  server = await startEmbeddedPostgres({ dataDir, port, log: joined.log, durable: false });
  const rotated = readFileSync(file, 'utf8').trim();
  t.is(statSync(file).mode & 0o777, 0o600);
  t.is(await login(pgdata, port, rotated), 'ok');
  t.is(await login(pgdata, port, 'tvdb-embedded'), '28P01');
  t.true(
    joined.lines.some((l) => /old fixed password/.test(String(l.msg))),
    'the change is logged',
  );
  t.false(JSON.stringify(joined.lines).includes(rotated), 'the password is not logged');

  // Stopped: the first start rotates it too.
  await makeOld();
  await server.stop();
  server = await startEmbeddedPostgres({ dataDir, port, log: createLogger('silent'), durable: false });
  const again = readFileSync(file, 'utf8').trim();
  t.not(again, rotated);
  t.is(await login(pgdata, port, again), 'ok');
  t.is(await login(pgdata, port, 'tvdb-embedded'), '28P01');

  // A password file that opens nothing is a clear error, not a silent fallback.
  await server.stop();
  chmodSync(file, 0o600);
  (await import('node:fs')).writeFileSync(file, 'not-the-password\n', { mode: 0o600 });
  const error = await t.throwsAsync(
    startEmbeddedPostgres({ dataDir, port, log: createLogger('silent'), durable: false }),
  );
  t.regex(error!.message, /refuses the superuser password in .*superuser-password/);
  t.false(error!.message.includes('not-the-password'));
});

test('where the socket path would be too long, the server listens on 127.0.0.1 only', async (t) => {
  const base = dataDirectory(t);
  const dataDir = path.join(base, 'x'.repeat(110 - base.length));
  mkdirSync(dataDir, { mode: 0o755 });
  const port = await freePort();
  const server = await startEmbeddedPostgres({ dataDir, port, log: createLogger('silent'), durable: false });
  t.teardown(() => server.stop());
  const lines = postmaster(dataDir);
  t.is(lines[4]!.trim(), '', 'no socket');
  t.is(lines[5]!.trim(), '127.0.0.1');
  t.true(await isListening(port));
  const password = readFileSync(path.join(dataDir, 'superuser-password'), 'utf8').trim();
  t.is(await login('127.0.0.1', port, password), 'ok');
  t.is(await login('127.0.0.1', port, 'tvdb-embedded'), '28P01');
  t.false(existsSync(path.join(dataDir, 'pg', `.s.PGSQL.${port}`)));
});

test('tvdb commands on a data directory of the old code: both fixed passwords are replaced', async (t) => {
  const dataDir = dataDirectory(t);
  const port = await freePort();
  const env = cleanEnv({ TVDB_DATA_DIR: dataDir, TVDB_EMBEDDED_PORT: String(port) });
  const first = await runTvdb(['migrate'], env);
  t.is(first.code, 0, first.stderr);
  const pgdata = path.join(dataDir, 'pg');
  // Back to what the old code left: fixed passwords for the superuser and tvdb_app, no password file.
  let server = await startEmbeddedPostgres({ dataDir, port, log: createLogger('silent'), durable: false });
  t.teardown(() => server.stop());
  const admin = new pg.Client({ connectionString: server.urlFor('postgres') });
  await admin.connect();
  await admin.query(`alter role tvdb_app password 'tvdb-app-embedded'`);
  await admin.query(`alter role postgres password 'tvdb-embedded'`);
  await admin.end();
  await server.stop();
  unlinkSync(path.join(dataDir, 'superuser-password'));

  const status = await runTvdb(['status', '--json'], env);
  t.is(status.code, 0, status.stderr);
  t.is(JSON.parse(status.stdout).length, 12);
  server = await startEmbeddedPostgres({ dataDir, port, log: createLogger('silent'), durable: false });
  t.is(await login(pgdata, port, 'tvdb-embedded'), '28P01');
  t.is(await login(pgdata, port, 'tvdb-app-embedded', 'tvdb_app'), '28P01');
});
