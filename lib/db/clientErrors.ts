// No database error ends a process (issue 22). A pg client emits 'error' when its connection is
// lost (PostgreSQL restarted, pg_terminate_backend, a reset link), idle or not; Node ends the
// process when an 'error' event has no listener. Libraries add and remove their listeners as a
// client moves between states (pg-pool while idle, graphile-worker while checked out, slonik's
// driver until its destroy's grace period ends), and a slow link found the gap: a worker died of
// BackendTerminatedError during `pg_ctl restart`. So every client gets one listener of ours for its
// whole life, at its first connect: it logs the loss once (with the connection's application_name
// and backend pid) and leaves the rest to the owner, which discards the client (pg-pool and slonik
// do; a query in flight rejects with the error and its caller decides).
import pg from 'pg';
import type { Logger } from '../log.ts';

let sink: Logger | undefined;
let installed = false;
const guarded = new WeakSet<pg.Client>();

type ClientFacts = { processID?: number; connectionParameters?: { application_name?: string } };

function onClientError(this: pg.Client, error: Error) {
  const facts = this as unknown as ClientFacts;
  const detail = {
    err: error,
    code: (error as { code?: string }).code,
    application_name: facts.connectionParameters?.application_name,
    backend_pid: facts.processID,
  };
  const message = 'database connection lost: its client is discarded; a new one is opened when needed';
  if (sink) sink.warn(detail, message);
  else process.stderr.write(`${JSON.stringify({ level: 40, msg: message, ...detail, err: error.message })}\n`);
}

/** This client keeps our 'error' listener for its whole life (idempotent). */
export function guardClient(client: pg.Client) {
  if (guarded.has(client)) return;
  guarded.add(client);
  client.on('error', onClientError);
}

/**
 * Every pg client of this process, whoever creates it (slonik, graphile-worker's pool,
 * node-pg-migrate, our admin connections), is guarded from its first connect: `pg.Client`'s
 * `connect` is wrapped once per process. `log`: where losses are logged (the latest caller's).
 */
export function guardDatabaseClients(log?: Logger) {
  if (log) sink = log;
  if (installed) return;
  installed = true;
  const connect = pg.Client.prototype.connect as (this: pg.Client, ...args: unknown[]) => unknown;
  (pg.Client.prototype as unknown as { connect: typeof connect }).connect = function (this: pg.Client, ...args) {
    guardClient(this);
    return connect.apply(this, args);
  };
}

/** The URL with an application_name: each pool's connections are told apart in pg_stat_activity. */
export function withApplicationName(url: string, pool: string) {
  const u = new URL(url);
  u.searchParams.set('application_name', applicationName(pool));
  return u.toString();
}

/** "tvdb:<pool>:<pid>": the pool and the process a connection belongs to. */
export const applicationName = (pool: string) => `tvdb:${pool}:${process.pid}`;
