// No database error ends a process (issue 22): every connection a worker and a server hold is
// terminated (pg_terminate_backend) in each state it can be in, and PostgreSQL is restarted while
// the processes' connections are held up on a slow link. The processes live, log each loss once,
// and carry on: a document ingested afterwards completes. Connections are told apart by their
// application_name, "tvdb:<pool>:<pid>" (lib/db/clientErrors.ts).
import test from 'ava';
import { writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { Writable } from 'node:stream';
import { sql, type DatabasePool } from 'slonik';
import { z } from 'zod';
import { createTestDatabase } from './helpers/database.ts';
import { cleanEnv, runTvdb } from './helpers/cli.ts';
import { startTvdb, waitForOutput, type TvdbProcess } from './helpers/processes.ts';
import { waitForTerminal } from './helpers/pipeline.ts';
import { createDatabasePool } from '../lib/db/database.ts';
import { applicationName, guardDatabaseClients } from '../lib/db/clientErrors.ts';
import { createLogger } from '../lib/log.ts';
import { freePort } from '../lib/http/freePort.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const LOST = 'database connection lost';

function capturedLogger() {
  const lines: Array<Record<string, unknown>> = [];
  const stream = new Writable({
    write(chunk, _e, done) {
      for (const line of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(line));
      done();
    },
  });
  return { log: createLogger('info', stream), lines };
}

const backendPid = (pool: { oneFirst: DatabasePool['oneFirst'] }) =>
  pool.oneFirst(sql.type(z.object({ pid: z.number() }))`select pg_backend_pid() as pid`);
const terminate = (admin: DatabasePool, pids: readonly number[]) =>
  admin.query(sql.unsafe`select pg_terminate_backend(pid) from unnest(${sql.array([...pids], 'int4')}) as pid`);

test.serial(
  'a pooled connection terminated idle, checked out between queries, inside a transaction or in a query: logged once, discarded, the pool carries on',
  async (t) => {
    const db = await createTestDatabase();
    t.teardown(() => db.drop());
    const { log, lines } = capturedLogger();
    guardDatabaseClients(log);
    const pool = await createDatabasePool(db.url, 3, { applicationName: 'probe' });
    t.teardown(() => pool.end());
    const name = applicationName('probe');
    const backends = (state: string) =>
      db.ownerPool.anyFirst(sql.type(z.object({ pid: z.number() }))`
      select pid from pg_stat_activity where application_name = ${name} and state = ${state}`);

    // Idle in the pool: three connections opened, then all terminated while idle.
    await Promise.all([1, 2, 3].map(() => pool.query(sql.unsafe`select pg_sleep(0.2)`)));
    const idle = await backends('idle');
    t.true(idle.length >= 2, `${idle.length} idle connections`);
    await terminate(db.ownerPool, idle);
    await sleep(500);
    t.is(
      await pool.oneFirst(sql.type(z.object({ n: z.number() }))`select 1 as n`),
      1,
      'the pool opens new connections',
    );

    // Checked out, between two queries.
    let between = 0;
    await t.throwsAsync(
      pool.connect(async (c) => {
        between = await backendPid(c);
        await terminate(db.ownerPool, [between]);
        await sleep(500); // the loss arrives while nobody queries
        await c.query(sql.unsafe`select 1`);
      }),
    );
    // Inside a transaction.
    let inTransaction = 0;
    await t.throwsAsync(
      pool.transaction(async (tx) => {
        inTransaction = await backendPid(tx);
        await tx.query(sql.unsafe`select 1`);
        await terminate(db.ownerPool, [inTransaction]);
        await sleep(500);
        await tx.query(sql.unsafe`select 1`);
      }),
    );
    // In the middle of a query.
    const long = pool.query(sql.unsafe`select pg_sleep(30)`);
    let active: readonly number[] = [];
    for (let i = 0; i < 100 && !active.length; i++) {
      active = await backends('active');
      if (!active.length) await sleep(50);
    }
    await terminate(db.ownerPool, active);
    await t.throwsAsync(long, { message: /terminat/i });

    t.is(await pool.oneFirst(sql.type(z.object({ n: z.number() }))`select 1 as n`), 1, 'the pool carries on');
    const lost = lines.filter((l) => String(l.msg).startsWith(LOST));
    for (const pid of [...idle, between]) {
      const logged = lost.filter((l) => l.backend_pid === pid);
      t.is(logged.length, 1, `the loss of ${pid} logged once: ${JSON.stringify(logged)}`);
    }
    for (const pid of [inTransaction, ...active])
      t.true(lost.filter((l) => l.backend_pid === pid).length <= 1, `the loss of ${pid} logged at most once`);
    t.true(lost.every((l) => l.application_name === name));
  },
);

/** A TCP relay between the processes and PostgreSQL that can be made slow: every chunk, and each
 * side's end, held back (a slow link delays a goodbye as much as anything else). */
async function slowLink(databaseUrl: string) {
  // PostgreSQL's own endpoint: a Unix socket (the embedded server's, whose directory is the URL's
  // host) or a TCP port.
  const { hostname, port: pgPort } = new URL(databaseUrl);
  const host = decodeURIComponent(hostname);
  const target: net.NetConnectOpts = host.startsWith('/')
    ? { path: path.join(host, `.s.PGSQL.${pgPort}`), allowHalfOpen: true }
    : { port: Number(pgPort), host, allowHalfOpen: true };
  let delayMs = 0;
  const sockets = new Set<net.Socket>();
  const later = (f: () => void) => (delayMs ? setTimeout(f, delayMs) : f());
  const relay = (from: net.Socket, to: net.Socket) => {
    from.on('data', (chunk) => later(() => to.writable && to.write(chunk)));
    from.on('end', () => later(() => to.end()));
    from.on('close', () => later(() => to.destroy()));
  };
  const server = net.createServer({ allowHalfOpen: true }, (client) => {
    const upstream = net.connect(target);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('error', () => {});
      s.on('close', () => sockets.delete(s));
    }
    relay(client, upstream);
    relay(upstream, client);
  });
  const port = await freePort();
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
  return {
    port,
    /** The same database reached through the link. */
    via: (url: string) => {
      const u = new URL(url);
      u.hostname = '127.0.0.1';
      u.port = String(port);
      return u.toString();
    },
    slow: (ms: number) => (delayMs = ms),
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise((r) => server.close(r));
    },
  };
}

test.serial(
  "a connection lost while its pool closes it on a slow link (past slonik's grace period) ends nothing",
  async (t) => {
    // The issue's crash, made exact: slonik destroys an idle client (after 5 s), its goodbye is held up
    // on the link past slonik's 5 s grace, slonik stops listening, and then the backend's
    // "terminating connection" (57P01) arrives. Without a listener for the client's whole life the
    // 'error' is emitted to nobody, and that ends the process (here: an uncaught exception in ava).
    const db = await createTestDatabase();
    t.teardown(() => db.drop());
    const link = await slowLink(db.url);
    t.teardown(() => link.close());
    const { log, lines } = capturedLogger();
    guardDatabaseClients(log);
    const pool = await createDatabasePool(link.via(db.url), 1, { applicationName: 'slow' });
    t.teardown(() => pool.end());
    const pid = await backendPid(pool); // released: idle from now, destroyed in 5 s
    link.slow(7000);
    await sleep(6000);
    await terminate(db.ownerPool, [pid]);
    await sleep(10_000); // the 57P01 arrives ~7 s later, after slonik's grace period ended
    link.slow(0);
    t.is(await pool.oneFirst(sql.type(z.object({ n: z.number() }))`select 1 as n`), 1, 'the pool carries on');
    t.true(lines.filter((l) => String(l.msg).startsWith(LOST) && l.backend_pid === pid).length <= 1);
  },
);

test.serial(
  'a worker and a server: every connection terminated in every state, then PostgreSQL restarted on a slow link; both live and carry on',
  async (t) => {
    const { ownPostgres } = await import('./helpers/embeddedPostgres.ts');
    const postgres = await ownPostgres(t, 'tvdb-conn-errors-');
    const link = await slowLink(postgres.url);
    t.teardown(() => link.close());
    const viaLink = link.via;
    const admin = await createDatabasePool(postgres.ownerUrl, 2); // direct, not through the link
    t.teardown(() => admin.end());
    const docs = path.join(postgres.dataDir, 'docs');
    const { mkdirSync } = await import('node:fs');
    mkdirSync(docs);
    let seed = 3;
    const word = () => ((seed = (seed * 48271) % 2147483647), seed.toString(36).slice(0, 3 + (seed % 6)));
    const writeDocs = (prefix: string, n: number) => {
      const dir = path.join(docs, prefix);
      mkdirSync(dir);
      for (let i = 0; i < n; i++)
        writeFileSync(
          path.join(dir, `${prefix}-${i}.txt`),
          Array.from({ length: 6000 }, (_, k) => (k % 10 === 9 ? `${word()}.` : word())).join(' '),
        );
      return dir;
    };
    const env = cleanEnv({
      DATABASE_URL: viaLink(postgres.url),
      PORT: String(await freePort()),
      LOG_LEVEL: 'warn',
      TVDB_WORKER_CONCURRENCY: '2',
      TVDB_POLL_INTERVAL_MS: '200',
      TVDB_HEARTBEAT_MS: '1000',
    });
    const worker = startTvdb(['worker'], env);
    const serve = startTvdb(['serve'], env);
    const processes: TvdbProcess[] = [worker, serve];
    t.teardown(() => Promise.all(processes.map((p) => p.stop('SIGKILL'))));
    await waitForOutput(serve, /listening on/, 60_000);
    const names = processes.map((p) => `tvdb:%:${p.child.pid}`);
    type Backend = { pid: number; application_name: string; state: string; query: string };
    const connections = () =>
      admin.any(sql.type(
        z.object({ pid: z.number(), application_name: z.string(), state: z.string(), query: z.string() }),
      )`
      select pid, application_name, coalesce(state, '') as state, coalesce(query, '') as query from pg_stat_activity
      where application_name like any(${sql.array(names, 'text')})`);
    const kindOf = (b: Backend) => {
      const [, pool, pid] = b.application_name.split(':');
      const proc = Number(pid) === worker.child.pid ? 'worker' : 'server';
      const state = b.query.startsWith('LISTEN') ? 'listening' : b.state;
      return `${proc} ${pool} ${state}`;
    };
    const hit = new Map<string, number>();
    const terminateAll = async (filter: (b: Backend) => boolean) => {
      const targets = (await connections()).filter(filter);
      for (const b of targets) hit.set(kindOf(b), (hit.get(kindOf(b)) ?? 0) + 1);
      await terminate(
        admin,
        targets.map((b) => b.pid),
      );
      return targets.length;
    };
    const alive = () => {
      const exited = processes.filter((p) => p.child.exitCode !== null || p.child.signalCode !== null);
      for (const p of exited) t.log(`exited (${p.child.exitCode ?? p.child.signalCode}):\n${p.output().slice(-3000)}`);
      return exited.length === 0;
    };

    // Both processes idle: every connection is idle in its pool, or listening.
    for (let i = 0; i < 100 && new Set((await connections()).map(kindOf)).size < 4; i++) await sleep(100);
    t.true((await terminateAll(() => true)) >= 4, 'idle and listening connections of both processes');
    await sleep(1500);
    t.true(alive(), 'both alive after their idle connections were terminated');

    // Under load: terminate whatever is busy (in a query, inside a transaction) every 150 ms.
    const first = await runTvdb(['ingest', '--no-wait', '--json', writeDocs('a', 10)], {
      ...env,
      DATABASE_URL: postgres.url,
    });
    const firstIds = (JSON.parse(first.stdout) as { results: Array<{ jobId: string }> }).results.map((r) => r.jobId);
    const until = Date.now() + 12_000;
    while (Date.now() < until) {
      await terminateAll((b) => b.state === 'active' || b.state.startsWith('idle in transaction'));
      await sleep(150);
    }
    await terminateAll(() => true); // and once more everything, busy or not
    t.true(alive(), 'both alive after busy connections were terminated');

    // PostgreSQL restarted while the link is slow (each way held back 7 s): connections that go idle
    // are closed by their pools (slonik's after 5 s idle) and their goodbyes are held up, past
    // slonik's grace period (5 s), when the restart's "terminating connection" (57P01) reaches them.
    link.slow(7000);
    await sleep(6000);
    await postgres.stop();
    await sleep(2000);
    await postgres.restart();
    await sleep(12_000);
    link.slow(0);

    // Afterwards: the first batch completes, and a document ingested now completes too.
    const pool = await createDatabasePool(postgres.url, 2);
    t.teardown(() => pool.end());
    const late = await runTvdb(['ingest', '--no-wait', '--json', writeDocs('b', 2)], {
      ...env,
      DATABASE_URL: postgres.url,
    });
    const lateIds = (JSON.parse(late.stdout) as { results: Array<{ jobId: string }> }).results.map((r) => r.jobId);
    const states = await waitForTerminal(pool, [...firstIds, ...lateIds], 150_000).catch((error) => {
      t.log(processes.map((p) => p.output().slice(-3000)).join('\n-----\n'));
      throw error;
    });
    t.deepEqual(
      Object.values(states).map((s) => s.state),
      [...firstIds, ...lateIds].map(() => 'complete'),
    );
    t.log(
      `terminated: ${[...hit.entries()]
        .sort()
        .map(([k, n]) => `${k} ${n}`)
        .join(', ')}`,
    );
    for (const kind of [
      'worker app idle',
      'worker graphile idle',
      'worker graphile listening',
      'server app idle',
      'server graphile listening',
    ])
      t.true((hit.get(kind) ?? 0) > 0, `terminated: ${kind}`);
    t.true(
      [...hit.keys()].some((k) => k.endsWith(' active')),
      'some connection terminated in the middle of a query',
    );
    for (const p of processes)
      if (!(p.child.exitCode === null && p.child.signalCode === null))
        t.log(`exited (${p.child.exitCode ?? p.child.signalCode}):\n${p.output().slice(-4000)}`);
    t.true(alive(), 'no worker or server process exited');
    // Each loss logged once: no backend pid in two "connection lost" lines of a process.
    for (const p of processes) {
      const pids = p
        .output()
        .split('\n')
        .filter((l) => l.includes(LOST))
        .map((l) => {
          try {
            return (JSON.parse(l) as { backend_pid?: number }).backend_pid;
          } catch {
            return undefined;
          }
        })
        .filter((pid) => pid !== undefined);
      t.true(pids.length > 0, 'losses are logged');
      t.is(new Set(pids).size, pids.length, 'each loss logged once');
    }
  },
);
