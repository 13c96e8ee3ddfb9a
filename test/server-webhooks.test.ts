import test from 'ava';
import fc from 'fast-check';
import { request } from 'node:http';
import { sql } from 'slonik';
import { z } from 'zod';
import { createTestDatabase, type TestDatabase } from './helpers/database.ts';
import { testServer, jobAwaitingWebhook, envelope, deliver } from './helpers/server.ts';
import { signBody, verifySignature } from '../lib/webhooks/signature.ts';

let db: TestDatabase;
let url: string;
let close: () => Promise<void>;
test.before(async () => {
  db = await createTestDatabase();
  const started = await testServer(db.pool);
  url = started.url;
  close = () => started.server.close();
});
test.after.always(async () => {
  await close?.();
  await db?.drop();
});

const count = async (query: ReturnType<typeof sql.unsafe>) => Number(await db.pool.oneFirst(query));
const deliveries = (jobId: string) =>
  count(sql.unsafe`select count(*)::int from webhook_deliveries where job_id = ${jobId}::uuid`);
const collectQueued = (jobId: string) =>
  count(sql.unsafe`select count(*)::int from graphile_worker.jobs where key = ${'collect:' + jobId}`);
const refusals = (reason: string) =>
  count(sql.unsafe`select count(*)::int from webhook_refusal_log where reason = ${reason}`);

test('property: a signature check rejects every single-byte change of a signed body', (t) => {
  fc.assert(
    fc.property(
      fc.uint8Array({ minLength: 1, maxLength: 300 }),
      fc.nat(),
      fc.integer({ min: 1, max: 255 }),
      (body, at, delta) => {
        const signature = signBody(body, 'whsec-current');
        if (!verifySignature(body, signature, ['whsec-current'])) return false;
        const changed = Uint8Array.from(body);
        changed[at % body.length] = (changed[at % body.length]! + delta) % 256;
        return !verifySignature(changed, signature, ['whsec-current']);
      },
    ),
    { numRuns: 500 },
  );
  t.pass();
});

test('a validly signed delivery is accepted: one row, collection enqueued, 2xx', async (t) => {
  const job = await jobAwaitingWebhook(db.pool);
  const response = await deliver(url, job.token, JSON.stringify(envelope(job.lpJobId)));
  t.is(response.status, 200);
  t.deepEqual(response.body, { ok: true, duplicate: false });
  t.is(await deliveries(job.id), 1);
  t.is(await collectQueued(job.id), 1);
});

test('single-byte changes of a signed body are refused over HTTP, and change no job', async (t) => {
  const job = await jobAwaitingWebhook(db.pool);
  const body = Buffer.from(JSON.stringify(envelope(job.lpJobId)));
  const signature = signBody(body, 'whsec-current');
  for (const at of [0, 5, Math.floor(body.length / 2), body.length - 1]) {
    const changed = Buffer.from(body);
    changed[at] = changed[at]! ^ 0x01;
    t.is((await deliver(url, job.token, changed, { signature })).status, 401);
  }
  t.is(await deliveries(job.id), 0);
  t.is(await collectQueued(job.id), 0);
});

test('missing signature is refused; both rotated secrets are accepted; a wrong secret is refused', async (t) => {
  const job = await jobAwaitingWebhook(db.pool);
  t.is((await deliver(url, job.token, JSON.stringify(envelope(job.lpJobId)), { secret: null })).status, 401);
  t.is((await deliver(url, job.token, JSON.stringify(envelope(job.lpJobId)), { secret: 'whsec-current' })).status, 200);
  t.is(
    (await deliver(url, job.token, JSON.stringify(envelope(job.lpJobId)), { secret: 'whsec-previous' })).status,
    200,
  );
  t.is((await deliver(url, job.token, JSON.stringify(envelope(job.lpJobId)), { secret: 'whsec-wrong' })).status, 401);
  t.is(await deliveries(job.id), 2);
  t.true((await refusals('missing_signature')) >= 1);
  t.true((await refusals('bad_signature')) >= 1);
});

test('an unknown token is 404; a delivery for another LlamaParse job is refused', async (t) => {
  const job = await jobAwaitingWebhook(db.pool);
  t.is((await deliver(url, 'tok-unknown-000000000000000000000000', JSON.stringify(envelope(job.lpJobId)))).status, 404);
  t.is((await deliver(url, job.token, JSON.stringify(envelope('lp-someone-else')))).status, 400);
  t.is(await deliveries(job.id), 0);
});

test('stale and future timestamps are refused with 401', async (t) => {
  const job = await jobAwaitingWebhook(db.pool);
  const now = Date.now() / 1000;
  t.is((await deliver(url, job.token, JSON.stringify(envelope(job.lpJobId, { timestamp: now - 400 })))).status, 401);
  t.is((await deliver(url, job.token, JSON.stringify(envelope(job.lpJobId, { timestamp: now + 400 })))).status, 401);
  t.is((await deliver(url, job.token, JSON.stringify(envelope(job.lpJobId, { timestamp: now - 200 })))).status, 200);
  t.true((await refusals('stale_timestamp')) >= 2);
});

test('the same delivery three times: one row, one collection, each answered 2xx', async (t) => {
  const job = await jobAwaitingWebhook(db.pool);
  const body = JSON.stringify(envelope(job.lpJobId));
  const answers = [];
  for (let i = 0; i < 3; i++) answers.push(await deliver(url, job.token, body));
  t.deepEqual(
    answers.map((a) => a.status),
    [200, 200, 200],
  );
  t.deepEqual(
    answers.map((a) => a.body?.duplicate),
    [false, true, true],
  );
  t.is(await deliveries(job.id), 1);
  t.is(await collectQueued(job.id), 1);
});

test('both output formats are accepted: a JSON object, or a JSON string holding it', async (t) => {
  const job = await jobAwaitingWebhook(db.pool);
  t.is((await deliver(url, job.token, JSON.stringify(envelope(job.lpJobId)))).status, 200);
  t.is((await deliver(url, job.token, JSON.stringify(JSON.stringify(envelope(job.lpJobId))))).status, 200);
  t.is(await deliveries(job.id), 2);
});

test('malformed JSON and wrong shapes are 400; unknown event types are recorded and otherwise ignored', async (t) => {
  const job = await jobAwaitingWebhook(db.pool);
  t.is((await deliver(url, job.token, '{"event_id": "x", ')).status, 400);
  t.is((await deliver(url, job.token, JSON.stringify({ hello: 'world' }))).status, 400);
  t.is(
    (await deliver(url, job.token, JSON.stringify(envelope(job.lpJobId, { event_type: 'parse.something_new' }))))
      .status,
    200,
  );
  t.is(await deliveries(job.id), 1);
  t.is(await collectQueued(job.id), 0, 'an unknown event does not trigger collection');
  t.true((await refusals('malformed')) >= 2);
});

test('a body over the limit is 413 without being read; refusals record the source address', async (t) => {
  const job = await jobAwaitingWebhook(db.pool);
  t.is((await deliver(url, job.token, 'x'.repeat(5000))).status, 413);
  // Chunked, no Content-Length: cut off while streaming.
  const status = await new Promise<number>((resolve, reject) => {
    const req = request(
      `${url}/webhooks/llamaparse/${job.token}`,
      { method: 'POST', headers: { 'transfer-encoding': 'chunked' } },
      (res) => resolve(res.statusCode!),
    );
    req.on('error', reject);
    for (let i = 0; i < 10; i++) req.write('y'.repeat(1000));
    req.end();
  });
  t.is(status, 413);
  const row = await db.pool.one(sql.type(z.object({ address: z.string(), status: z.number() }))`
    select host(source_address) as address, http_status as status from webhook_refusal_log where reason = 'too_large' order by id desc limit 1`);
  t.deepEqual(row, { address: '127.0.0.1', status: 413 });
  const secretsLogged = await count(
    sql.unsafe`select count(*)::int from webhook_refusal_log where detail like '%whsec%'`,
  );
  t.is(secretsLogged, 0);
});

test('an address outside WEBHOOK_ALLOWED_CIDRS is refused with 403; inside is accepted', async (t) => {
  const outside = await testServer(db.pool, { allowCidrs: '10.0.0.0/8, 192.168.0.0/16' });
  const inside = await testServer(db.pool, { allowCidrs: '127.0.0.0/8' });
  t.teardown(async () => {
    await outside.server.close();
    await inside.server.close();
  });
  const job = await jobAwaitingWebhook(db.pool);
  t.is((await deliver(outside.url, job.token, JSON.stringify(envelope(job.lpJobId)))).status, 403);
  t.is((await deliver(inside.url, job.token, JSON.stringify(envelope(job.lpJobId)))).status, 200);
  t.true((await refusals('forbidden_source')) >= 1);
});

test('the webhook_refusals view summarises refusals by reason', async (t) => {
  const { recordRefusal } = await import('../lib/webhooks/recordDelivery.ts');
  await recordRefusal(db.pool, { reason: 'unknown_token', status: 404, address: '::ffff:203.0.113.9' }, 60);
  await recordRefusal(db.pool, { reason: 'unknown_token', status: 404, address: '203.0.113.10' }, 60);
  const rows = await db.pool.any(
    sql.type(z.object({ reason: z.string(), refusals: z.number() }))`select reason, refusals from webhook_refusals`,
  );
  t.true(rows.find((r) => r.reason === 'unknown_token')!.refusals >= 2);
  t.true(rows.every((r) => r.refusals > 0));
});
