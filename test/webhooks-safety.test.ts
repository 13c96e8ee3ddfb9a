// What a delivery refuses to do and how a failing receiver is treated: no private destinations
// (checked at the address actually connected to), no redirects, bounded reads and time, 410 Gone
// and long failure disable a subscription (the latter with an alert), the retry window ends, and
// Retry-After is honoured. Deliveries are made by calling the task's code directly.
import test from 'ava';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { sql } from 'slonik';
import { z } from 'zod';
import { createTestDatabase, type TestDatabase } from './helpers/database.ts';
import { Receiver } from './helpers/receiver.ts';
import { createLogger } from '../lib/log.ts';
import { addSubscription } from '../lib/outbox/addSubscription.ts';
import { deliverLine } from '../lib/outbox/deliverLine.ts';
import { DestinationError, resolveDestination, type Resolver } from '../lib/outbox/destination.ts';
import { publishTestEvent } from '../lib/outbox/messages.ts';
import { postWebhook } from '../lib/outbox/postWebhook.ts';
import type { DeliverySettings } from '../lib/outbox/settings.ts';

let db: TestDatabase;
test.before(async () => (db = await createTestDatabase()));
test.after.always(() => db?.drop());

const log = createLogger('silent');
const settings: DeliverySettings = {
  allowPrivate: true,
  timeoutMs: 1000,
  retryBaseMs: 60_000,
  retryForMs: 24 * 3600_000,
  disableAfterMs: 12 * 3600_000,
  maxPerRun: 50,
};

async function subscribed(receiver: Receiver) {
  const { id, secret } = await addSubscription(
    db.pool,
    { url: receiver.url, events: ['job.complete'] },
    { allowPrivate: true },
  );
  receiver.verifyWith(secret);
  return id;
}
/** A queued test delivery to the subscription, delivered once through the task's code. */
async function deliverTest(subscriptionId: number, overrides: Partial<DeliverySettings> = {}) {
  const queued = await publishTestEvent(db.pool, subscriptionId);
  await deliverLine(db.pool, log, { ...settings, ...overrides }, { subscriptionId, line: `event:${queued.event_id}` });
  return queued;
}
const Attempt = z.object({
  outcome: z.string(),
  http_status: z.number().nullable(),
  error: z.string().nullable(),
  message_status: z.string(),
});
const lastAttempt = (webhookId: string) =>
  db.pool.one(sql.type(Attempt)`
    select outcome, http_status, error, message_status from webhook_delivery_log
    where webhook_id = ${webhookId} order by attempt_id desc limit 1`);
const subscription = (id: number) =>
  db.pool.one(sql.type(z.object({ enabled: z.boolean(), disabled_reason: z.string().nullable() }))`
    select enabled, disabled_reason from webhook_subscriptions where id = ${id}`);

test('loopback, private, link-local and other non-public destinations are refused unless allowed', async (t) => {
  for (const url of [
    'http://127.0.0.1/x',
    'http://localhost:8080/',
    'http://10.1.2.3/',
    'http://192.168.0.10/',
    'http://172.16.5.5/',
    'http://169.254.169.254/latest/meta-data/',
    'http://[::1]/',
    'http://[fe80::1]/',
    'http://[fc00::1]/',
    'http://[::ffff:127.0.0.1]/',
    'http://0.0.0.0/',
    'http://100.64.0.1/',
    // IPv6 forms that carry an IPv4 address: judged by the IPv4 address, or refused outright.
    'http://[::7f00:1]/', // IPv4-compatible ::127.0.0.1
    'http://[::808:808]/', // IPv4-compatible, even of a public address (deprecated form)
    'http://[::ffff:10.0.0.1]/',
    'http://[::ffff:0:7f00:1]/', // SIIT
    'http://[64:ff9b::a9fe:a9fe]/', // NAT64 of 169.254.169.254
    'http://[64:ff9b:1::808:808]/', // local-use NAT64
    'http://[2002:7f00:1::1]/', // 6to4
    'http://[2002:808:808::1]/',
    'http://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/', // Teredo
  ]) {
    const error = await t.throwsAsync(
      resolveDestination(url, { allowPrivate: false }),
      { instanceOf: DestinationError },
      url,
    );
    t.is(error!.kind, 'blocked', url);
    t.regex(error!.message, /TVDB_WEBHOOK_ALLOW_PRIVATE/);
  }
  // A name that resolves to a private address among public ones is refused too (no network here:
  // the resolver is given).
  const mixed: Resolver = async () => [
    { address: '93.184.215.14', family: 4 },
    { address: '10.0.0.7', family: 4 },
  ];
  const mixedError = await t.throwsAsync(
    resolveDestination('https://hooks.example.com/', { allowPrivate: false, resolve: mixed }),
  );
  t.regex(mixedError!.message, /hooks\.example\.com resolves to a non-public address/);
  t.false(mixedError!.message.includes('10.0.0.7'), 'a refusal never tells what a name resolves to');
  // Public addresses behind IPv4-mapped and NAT64 forms are public.
  for (const address of ['::ffff:93.184.215.14', '64:ff9b::5db8:d70e'])
    t.like(
      await resolveDestination('https://hooks.example.com/', {
        allowPrivate: false,
        resolve: async () => [{ address, family: 6 }],
      }),
      { address },
    );
  const pub: Resolver = async () => [{ address: '93.184.215.14', family: 4 }];
  t.like(await resolveDestination('https://hooks.example.com/x', { allowPrivate: false, resolve: pub }), {
    address: '93.184.215.14',
  });
  t.like(await resolveDestination('http://127.0.0.1:9/', { allowPrivate: true }), { address: '127.0.0.1' });
  for (const url of ['ftp://example.com/', 'http://user:pw@example.com/', 'not a url'])
    t.like(await t.throwsAsync(resolveDestination(url, { allowPrivate: true })), { kind: 'invalid' }, url);
  // Refused when subscribing: nothing is stored.
  await t.throwsAsync(
    addSubscription(db.pool, { url: 'http://127.0.0.1:9/', events: ['job.complete'] }, { allowPrivate: false }),
    {
      message: /url: 127\.0\.0\.1 is a loopback address/,
    },
  );
});

test('the connection goes to the address that was checked, whatever DNS says next (no rebinding)', async (t) => {
  // Two servers on one port, on two loopback addresses; "DNS" answers .2 first, .3 afterwards.
  const hits: string[] = [];
  const listen = (host: string, port: number) =>
    new Promise<Server>((resolve) => {
      const s = createServer((req, res) => {
        hits.push(host);
        res.end('ok');
      });
      s.listen(port, host, () => resolve(s));
    });
  const first = await listen('127.0.0.2', 0);
  const port = (first.address() as AddressInfo).port;
  const second = await listen('127.0.0.3', port);
  let calls = 0;
  const rebinding: Resolver = async () => [{ address: calls++ === 0 ? '127.0.0.2' : '127.0.0.3', family: 4 }];
  try {
    const destination = await resolveDestination(`http://hooks.test:${port}/`, {
      allowPrivate: true,
      resolve: rebinding,
    });
    const result = await postWebhook(destination, { headers: {}, body: '{}' }, { timeoutMs: 2000 });
    t.is(result.outcome, 'delivered');
    t.deepEqual(hits, ['127.0.0.2']);
    t.is(calls, 1, 'resolved once, then connected to that address');
  } finally {
    first.close();
    second.close();
  }
});

test('redirects are not followed; long answers are read only up to 500 bytes; silence times out', async (t) => {
  const elsewhere = new Receiver();
  await elsewhere.start();
  const receiver = new Receiver();
  await receiver.start();
  const id = await subscribed(receiver);
  try {
    receiver.answer = (_req, res) => res.writeHead(307, { location: elsewhere.url }).end();
    const redirected = await deliverTest(id);
    t.like(await lastAttempt(redirected.webhook_id), {
      outcome: 'rejected',
      http_status: 307,
      message_status: 'pending',
    });
    t.regex(
      (await lastAttempt(redirected.webhook_id)).error!,
      /redirect \(HTTP 307 to http:\/\/127\.0\.0\.1:\d+.*\) not followed/,
    );
    t.is(elsewhere.received.length, 0);

    let written = 0;
    receiver.answer = (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      const chunk = Buffer.alloc(64 * 1024, 'x');
      const pump = () => {
        while (written < 50 * 1024 * 1024 && res.write(chunk)) written += chunk.length;
        if (written < 50 * 1024 * 1024) res.once('drain', pump);
        else res.end();
      };
      res.on('close', () => res.removeAllListeners('drain'));
      pump();
    };
    const started = Date.now();
    const big = await deliverTest(id);
    t.like(await lastAttempt(big.webhook_id), { outcome: 'delivered', http_status: 200 });
    const excerpt = await db.pool.oneFirst(sql.type(z.object({ e: z.string() }))`
      select response_excerpt as e from webhook_delivery_log where webhook_id = ${big.webhook_id}`);
    t.is(excerpt, 'x'.repeat(500));
    t.true(Date.now() - started < 2000);
    t.true(written < 10 * 1024 * 1024, `the sender stopped reading (server wrote ${written} bytes)`);

    receiver.answer = () => {}; // never answers
    const silent = await deliverTest(id, { timeoutMs: 300 });
    t.like(await lastAttempt(silent.webhook_id), { outcome: 'timeout', message_status: 'pending' });
  } finally {
    await receiver.stop();
    await elsewhere.stop();
  }
});

test('a URL that resolves to a private address when sending is blocked without connecting', async (t) => {
  const receiver = new Receiver();
  await receiver.start();
  const id = await subscribed(receiver); // allowed when added (a test setting), refused now
  try {
    const queued = await deliverTest(id, { allowPrivate: false });
    t.like(await lastAttempt(queued.webhook_id), { outcome: 'blocked', message_status: 'pending' });
    t.is(receiver.received.length, 0);
  } finally {
    await receiver.stop();
  }
});

test('the DNS lookup is inside the delivery deadline; a name that never resolves fails in time', async (t) => {
  const receiver = new Receiver();
  await receiver.start();
  const port = new URL(receiver.url).port;
  const slow: Resolver = () =>
    new Promise((resolve) => setTimeout(() => resolve([{ address: '127.0.0.1', family: 4 }]), 700));
  const { id, secret } = await addSubscription(
    db.pool,
    { url: `http://hooks.test:${port}/`, events: ['job.complete'] },
    { allowPrivate: true, resolve: async () => [{ address: '127.0.0.1', family: 4 }] },
  );
  receiver.verifyWith(secret);
  try {
    // 700 ms of lookup + 500 ms of answer: over a 1 s deadline (before, the lookup was not counted).
    receiver.answer = (_req, res) => void setTimeout(() => res.writeHead(200).end('ok'), 500);
    let started = Date.now();
    const slowLookup = await deliverTest(id, { timeoutMs: 1000, resolve: slow });
    t.like(await lastAttempt(slowLookup.webhook_id), { outcome: 'timeout', message_status: 'pending' });
    t.true(Date.now() - started < 1500, `${Date.now() - started} ms`);
    started = Date.now();
    const never = await deliverTest(id, { timeoutMs: 300, resolve: () => new Promise(() => {}) });
    const attempt = await lastAttempt(never.webhook_id);
    t.like(attempt, { outcome: 'unreachable', message_status: 'pending' });
    t.regex(attempt.error!, /hooks\.test does not resolve \(no answer within 300 ms\)/);
    t.true(Date.now() - started < 1000, `${Date.now() - started} ms`);
  } finally {
    await receiver.stop();
  }
});

test('410 Gone disables the subscription and cancels what was pending', async (t) => {
  const receiver = new Receiver();
  await receiver.start();
  const id = await subscribed(receiver);
  try {
    receiver.answer = 410;
    const gone = await deliverTest(id);
    t.like(await lastAttempt(gone.webhook_id), { outcome: 'gone', message_status: 'cancelled' });
    t.like(await subscription(id), { enabled: false, disabled_reason: 'the endpoint answered 410 Gone' });
    const alert = await db.pool.maybeOne(sql.type(z.object({ severity: z.string(), message: z.string() }))`
      select severity, message from alerts where kind = 'webhook_disabled' and detail ->> 'subscription_id' = ${String(id)}`);
    t.like(alert, { severity: 'warning' });
  } finally {
    await receiver.stop();
  }
});

test('a subscription failing for longer than TVDB_WEBHOOK_DISABLE_AFTER_H is disabled with a critical alert', async (t) => {
  const receiver = new Receiver();
  await receiver.start();
  const id = await subscribed(receiver);
  try {
    receiver.answer = 500;
    const first = await deliverTest(id);
    t.like(await subscription(id), { enabled: true });
    // The failure streak began 13 hours ago (as if the receiver had been failing all night).
    await db.pool.query(
      sql.unsafe`update webhook_subscriptions set failing_since = now() - interval '13 hours' where id = ${id}`,
    );
    await deliverLine(
      db.pool,
      log,
      { ...settings },
      { subscriptionId: id, line: `event:${(await publishTestEvent(db.pool, id)).event_id}` },
    );
    const state = await subscription(id);
    t.false(state.enabled);
    t.regex(state.disabled_reason!, /every delivery failed since .* \(longer than 12:00:00\); last: HTTP 500/);
    t.like(await lastAttempt(first.webhook_id), { message_status: 'cancelled' });
    const alert = await db.pool.one(sql.type(z.object({ severity: z.string(), message: z.string() }))`
      select severity, message from alerts where kind = 'webhook_disabled' and detail ->> 'subscription_id' = ${String(id)}`);
    t.is(alert.severity, 'critical');
    t.regex(alert.message, /tvdb webhooks enable \d+/);
    t.notRegex(alert.message, /key=abc/, 'the URL path and query (which may hold a token) stay out of the alert');
  } finally {
    await receiver.stop();
  }
});

test('when the retry window ends the message fails and its line moves on; Retry-After sets the next try', async (t) => {
  const receiver = new Receiver();
  await receiver.start();
  const id = await subscribed(receiver);
  try {
    // Two messages in one line, their window over: the first refused, the second fine.
    const line = 'line-a';
    const events = await db.pool.anyFirst(sql.type(z.object({ id: z.number() }))`
      insert into webhook_events (type, payload) values
        ('webhook.test', '{"type":"webhook.test","timestamp":"t","data":{"n":1}}'),
        ('webhook.test', '{"type":"webhook.test","timestamp":"t","data":{"n":2}}')
      returning id::int`);
    await db.pool.query(sql.unsafe`
      insert into webhook_messages (subscription_id, event_id, line, window_started_at)
      select ${id}, e, ${line}, now() - interval '25 hours' from unnest(${sql.array(events, 'int8')}) e`);
    receiver.answer = (_req, res, body) => res.writeHead(body.includes('"n": 1') ? 500 : 200).end();
    await deliverLine(db.pool, log, settings, { subscriptionId: id, line });
    const statuses = await db.pool.anyFirst(sql.type(z.object({ s: z.string() }))`
      select status as s from webhook_messages where line = ${line} order by id`);
    t.deepEqual(statuses, ['failed', 'delivered']);

    receiver.answer = (_req, res) => res.writeHead(429, { 'retry-after': '120' }).end();
    const limited = await deliverTest(id);
    const next = await db.pool.one(sql.type(z.object({ in_s: z.number(), run_in_s: z.number() }))`
      select extract(epoch from m.next_attempt_at - now())::float8 as in_s,
             extract(epoch from g.run_at - now())::float8 as run_in_s
      from webhook_messages m join webhook_events e on e.id = m.event_id
      join graphile_worker.jobs g on g.key = format('webhook:%s:%s', m.subscription_id, m.line)
      where e.webhook_id = ${limited.webhook_id}`);
    t.true(next.in_s > 110 && next.in_s <= 120, `next attempt in ${next.in_s} s`);
    t.true(Math.abs(next.run_in_s - next.in_s) < 1, 'and the line is queued for then');
  } finally {
    await receiver.stop();
  }
});
