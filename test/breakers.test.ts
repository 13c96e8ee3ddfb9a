// Circuit breakers that recover (issue 14): `tvdb breaker list|reset`, and the acceptance "A
// breaker whose probe owner is killed closes or reopens by itself after the probe timeout", with
// real worker processes, a real SIGKILL and the LlamaParse emulator.
import test from 'ava';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { sql, type DatabasePool } from 'slonik';
import { z } from 'zod';
import { createTestDatabase } from './helpers/database.ts';
import { cleanEnv, runTvdb } from './helpers/cli.ts';
import { startTvdbGroup, waitFor } from './helpers/processGroups.ts';
import { waitForTerminal } from './helpers/pipeline.ts';
import { LlamaParseEmulator } from '../emulators/llamaparse/index.ts';
import { minimalPdf } from '../lib/documents/minimalPdf.ts';
import { loadConfig } from '../lib/config.ts';
import { breakerSettings } from '../lib/resilience/breakers.ts';

const Breaker = z.object({ state: z.string(), consecutive_failures: z.number(), probes: z.number() });
const breaker = (pool: DatabasePool, service: string) =>
  pool.one(sql.type(Breaker)`
    select state, consecutive_failures,
           (select count(*)::int from circuit_breaker_probes p where p.service = b.service and p.expires_at > now()) as probes
    from circuit_breakers b where service = ${service}`);

const Event = z.object({ from_state: z.string(), to_state: z.string(), reason: z.string(), at: z.number() });
const breakerEvents = (pool: DatabasePool, service: string) =>
  pool.any(sql.type(Event)`
    select from_state, to_state, reason, at from circuit_breaker_events where service = ${service} order by id`);

/** The breaker opened a while ago (its cool-down is over), as after an outage. */
const openedLongAgo = (pool: DatabasePool, service: string, reason: string) =>
  pool.transaction(async (tx) => {
    await tx.query(sql.unsafe`select set_config('tvdb.breaker_reason', ${reason}, true)`);
    await tx.query(sql.unsafe`
      update circuit_breakers set state = 'open', opened_at = now() - interval '10 minutes', consecutive_failures = 5
      where service = ${service}`);
  });

test('tvdb breaker list shows state and probes; reset closes an open breaker and records who did; bad usage exits 2', async (t) => {
  const db = await createTestDatabase();
  t.teardown(() => db.drop());
  const env = cleanEnv({ DATABASE_URL: db.url });
  // Setup: five transient failures in a row open the LlamaParse breaker (threshold 5).
  for (let i = 0; i < 5; i++)
    await db.pool.query(
      sql.unsafe`select breaker_record('llamaparse', 'transient', null, 5, 1, 'HTTP 503 from LlamaParse')`,
    );

  const listed = await runTvdb(['breaker', 'list'], env);
  t.is(listed.code, 0, listed.stderr);
  const lines = listed.stdout.split('\n');
  t.regex(lines[0]!, /^service\s+state\s+consecutive failures\s+probes in flight\s+opened\s+since$/);
  t.truthy(
    lines.find((l) => /^embeddings\s+closed\s+0\s+0\s+-\s+\d{4}-/.test(l)),
    listed.stdout,
  );
  t.truthy(
    lines.find((l) => /^llamaparse\s+open\s+5\s+0\s+\d{4}-\d\d-\d\d \d\d:\d\d:\d\d/.test(l)),
    listed.stdout,
  );

  // A probe in flight after the cool-down: the list shows the breaker half-open with it.
  await db.pool.query(
    sql.unsafe`update circuit_breakers set opened_at = now() - interval '1 hour' where service = 'llamaparse'`,
  );
  const decision = await db.pool.oneFirst(sql.type(z.object({ d: z.string() }))`
    select decision as d from breaker_acquire('llamaparse', interval '30 seconds', 1, interval '60 seconds')`);
  t.is(decision, 'probe');
  const json = await runTvdb(['breaker', 'list', '--json'], env);
  t.is(json.code, 0, json.stderr);
  const rows = JSON.parse(json.stdout) as Array<{ service: string; state: string; probes_in_flight: number }>;
  t.like(
    rows.find((r) => r.service === 'llamaparse'),
    { state: 'half_open', probes_in_flight: 1 },
  );

  // Action: an operator who knows LlamaParse is back closes the breaker.
  const reset = await runTvdb(['breaker', 'reset', 'llamaparse'], env);
  t.is(reset.code, 0, reset.stderr);
  t.is(reset.stdout, 'llamaparse breaker closed (it was half_open)\n');
  t.deepEqual(await breaker(db.pool, 'llamaparse'), { state: 'closed', consecutive_failures: 0, probes: 0 });
  const last = (await breakerEvents(db.pool, 'llamaparse')).at(-1)!;
  t.like(last, { from_state: 'half_open', to_state: 'closed' });
  t.regex(last.reason, /^reset by tvdb breaker reset \(.+\)$/);
  const after = await db.pool.oneFirst(sql.type(z.object({ d: z.string() }))`
    select decision as d from breaker_acquire('llamaparse', interval '30 seconds', 1, interval '60 seconds')`);
  t.is(after, 'allow', 'calls go through again');
  t.is(await breaker(db.pool, 'embeddings').then((b) => b.state), 'closed', 'the other breaker is untouched');

  // Bad usage: exit 2 with the usage, nothing changed.
  for (const args of [['breaker'], ['breaker', 'reset'], ['breaker', 'reset', 'openai'], ['breaker', 'close']]) {
    const bad = await runTvdb(args, env);
    t.is(bad.code, 2, args.join(' '));
    t.regex(bad.stderr, /Usage: tvdb breaker list/, args.join(' '));
  }
  t.regex(
    (await runTvdb(['breaker', 'reset', 'openai'], env)).stderr,
    /breaker reset takes one of llamaparse, embeddings/,
  );
  t.is((await breakerEvents(db.pool, 'llamaparse')).length, 3, 'closed->open, open->half_open, half_open->closed');
});

test('a breaker whose probing worker is SIGKILLed mid-call stays half-open, denying every other call, until the probe slot expires; then another worker’s probe closes it', async (t) => {
  const db = await createTestDatabase({ poolSize: 4 });
  t.teardown(() => db.drop());
  // The emulator holds the first call it gets (the probe's upload) far beyond any timeout.
  const llama = new LlamaParseEmulator({
    startDelayMs: 5,
    perPageDelayMs: 1,
    faults: { slowResponses: { count: 1, delayMs: 20_000 } },
  });
  await llama.start();
  t.teardown(() => llama.stop());
  const dir = mkdtempSync(path.join(tmpdir(), 'tvdb-breaker-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  for (const name of ['first', 'second'])
    writeFileSync(path.join(dir, `${name}.pdf`), minimalPdf([[`The ${name} document.`, 'Nothing else.']]));
  const env = cleanEnv({
    DATABASE_URL: db.url,
    LLAMA_CLOUD_API_KEY: 'llx-emulator',
    LLAMA_CLOUD_BASE_URL: llama.url,
    LLAMAPARSE_TIMEOUT_MS: '3000',
    TVDB_WORKER_CONCURRENCY: '1',
    TVDB_POLL_INTERVAL_MS: '200',
    TVDB_HEARTBEAT_MS: '500',
    TVDB_WORKER_STALE_S: '3',
    LOG_LEVEL: 'info',
  });
  const probeTtlS = breakerSettings(loadConfig(env)).probeTtlS.llamaparse;
  t.is(probeTtlS, 13, 'the call timeout (3 s) plus the margin');
  const submit = async (file: string) => {
    const result = await runTvdb(['ingest', '--no-wait', '--json', path.join(dir, file)], env);
    t.is(result.code, 0, result.stderr);
    return (JSON.parse(result.stdout) as { results: Array<{ jobId: string }> }).results[0]!.jobId;
  };
  await openedLongAgo(db.pool, 'llamaparse', 'LlamaParse answered 503 five times');
  const first = await submit('first.pdf');

  // A worker takes the probe and hangs in the call; it is killed there.
  const prober = startTvdbGroup(t, ['worker'], env);
  const probe = await waitFor(
    'the probe call to reach LlamaParse',
    async () =>
      llama.callTimes.length > 0 &&
      db.pool.maybeOne(sql.type(z.object({ created: z.number(), expires: z.number() }))`
        select extract(epoch from expires_at - make_interval(secs => ${probeTtlS})) * 1000 as created,
               extract(epoch from expires_at) * 1000 as expires
        from circuit_breaker_probes where service = 'llamaparse'`),
    60_000,
    20,
  );
  prober.signalGroup('SIGKILL');
  const killed = await prober.exited;
  const killedAt = Date.now();
  t.is(killed.signal, 'SIGKILL');

  // Half-open with the dead worker's probe in flight: tvdb breaker list says so.
  t.deepEqual(await breaker(db.pool, 'llamaparse'), { state: 'half_open', consecutive_failures: 5, probes: 1 });
  const listed = await runTvdb(['breaker', 'list', '--json'], env);
  t.like(
    (JSON.parse(listed.stdout) as Array<{ service: string }>).find((b) => b.service === 'llamaparse'),
    { state: 'half_open', probes_in_flight: 1 },
  );

  // Another worker, another document: while the slot lives, every call is denied (none reaches
  // LlamaParse), the work deferred.
  const second = await submit('second.pdf');
  const survivor = startTvdbGroup(t, ['worker'], env);
  await waitFor(
    'a breaker_open deferral of the second document',
    () =>
      db.pool.maybeOneFirst(sql.type(z.object({ n: z.number() }))`
        select 1 as n from job_events where job_id = ${second}::uuid and detail ->> 'event' = 'breaker_open'`),
    probe.expires - Date.now(),
    100,
  );
  let callsWhileHeld = 0;
  while (Date.now() < probe.expires - 300) {
    callsWhileHeld = Math.max(callsWhileHeld, llama.callTimes.length);
    t.is((await breaker(db.pool, 'llamaparse')).state, 'half_open');
    await new Promise((r) => setTimeout(r, 200));
  }
  t.is(callsWhileHeld, 1, 'no call but the dead probe’s reached LlamaParse while its slot lived');

  // The slot lapses: the survivor's probe goes through and closes the breaker by itself.
  await waitFor(
    'the breaker to close',
    async () => (await breaker(db.pool, 'llamaparse')).state === 'closed',
    30_000,
    100,
  );
  const events = await breakerEvents(db.pool, 'llamaparse');
  t.deepEqual(
    events.map((e) => `${e.from_state}->${e.to_state}: ${e.reason}`),
    [
      'closed->open: LlamaParse answered 503 five times',
      'open->half_open: cool-down over: probing',
      'half_open->closed: probe succeeded',
    ],
  );
  const closedAt = events.at(-1)!.at;
  t.true(closedAt >= probe.expires - 100, 'not before the dead probe’s slot expired');
  t.true(closedAt - probe.expires < 15_000, `closed ${((closedAt - probe.expires) / 1000).toFixed(1)} s after expiry`);
  const states = await waitForTerminal(db.pool, [first, second], 60_000).catch((error) => {
    t.log(survivor.output().slice(-3000));
    throw error;
  });
  t.deepEqual(
    Object.values(states).map((s) => s.state),
    ['complete', 'complete'],
  );
  t.log(
    `probe taken at 0 s, owner SIGKILLed at ${((killedAt - probe.created) / 1000).toFixed(1)} s, slot expired at ${probeTtlS} s, breaker closed at ${((closedAt - probe.created) / 1000).toFixed(1)} s (${((closedAt - killedAt) / 1000).toFixed(1)} s after the kill); both documents complete`,
  );
});
