// The user's side of outbound webhooks: /v1/webhooks (bearer token), per-upload callbacks on
// POST /v1/documents, and `tvdb webhooks` as a real process, with real workers delivering to real
// receivers that verify with the standardwebhooks package.
import test from 'ava';
import { sql } from 'slonik';
import { z } from 'zod';
import { createTestDatabase, type TestDatabase } from './helpers/database.ts';
import { testServer } from './helpers/server.ts';
import { testPipeline, type TestPipeline } from './helpers/pipeline.ts';
import { Receiver, until } from './helpers/receiver.ts';
import { cleanEnv, runTvdb } from './helpers/cli.ts';

const TOKEN = 'test-api-token-0123456789';
const auth = { authorization: `Bearer ${TOKEN}` };
let db: TestDatabase;
let pipeline: TestPipeline;
let url: string;
let strictUrl: string;
let closeAll: () => Promise<void>;
const receiver = new Receiver();
test.before(async () => {
  db = await createTestDatabase();
  pipeline = testPipeline(db, { TVDB_WEBHOOK_ALLOW_PRIVATE: 'true', TVDB_WEBHOOK_RETRY_BASE_MS: '200' });
  await pipeline.start();
  await receiver.start();
  const open = await testServer(db.pool, { apiToken: TOKEN, outbound: { allowPrivate: true } });
  const strict = await testServer(db.pool, { apiToken: TOKEN });
  url = open.url;
  strictUrl = strict.url;
  closeAll = async () => {
    await open.server.close();
    await strict.server.close();
  };
});
test.after.always(async () => {
  await closeAll?.();
  await pipeline?.stop();
  await receiver.stop();
  await db?.drop();
});

const call = async (method: string, path: string, body?: unknown, base = url) => {
  const response = await fetch(`${base}${path}`, {
    method,
    headers: body === undefined ? auth : { ...auth, 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  return { status: response.status, body: text ? (JSON.parse(text) as Record<string, any>) : null };
};
const jobCount = () => db.pool.oneFirst(sql.type(z.object({ n: z.number() }))`select count(*)::int as n from jobs`);

test.serial('/v1/webhooks: add (secret once), read, test, log, disable, enable, replay, remove', async (t) => {
  t.is((await fetch(`${url}/v1/webhooks`)).status, 401);
  const refused = await call('POST', '/v1/webhooks', { url: receiver.url }, strictUrl);
  t.is(refused.status, 400);
  t.regex(refused.body!.message, /127\.0\.0\.1 is a loopback address.*TVDB_WEBHOOK_ALLOW_PRIVATE/);
  t.like((await call('POST', '/v1/webhooks', { url: receiver.url, events: ['job.done'] })).body, {
    error: 'bad_request',
  });
  t.is((await fetch(`${url}/v1/webhooks`, { method: 'POST', headers: auth, body: 'x' })).status, 415);

  const created = await call('POST', '/v1/webhooks', { url: receiver.url, events: ['job.complete', 'breaker.open'] });
  t.is(created.status, 201);
  t.regex(created.body!.secret, /^whsec_/);
  receiver.verifyWith(created.body!.secret);
  const id = created.body!.subscription.id as number;
  t.like(created.body!.subscription, { url: receiver.url, events: ['breaker.open', 'job.complete'], enabled: true });
  const listed = await call('GET', '/v1/webhooks');
  t.deepEqual(
    listed.body!.subscriptions.map((s: { id: number }) => s.id),
    [id],
  );
  t.false(JSON.stringify(listed.body).includes(created.body!.secret), 'the secret is never shown again');

  const queued = await call('POST', `/v1/webhooks/${id}/test`);
  t.is(queued.status, 202);
  await until('the test delivery', () => receiver.accepted().find((r) => r.webhookId === queued.body!.webhook_id));
  t.true(receiver.received.every((r) => r.verified));
  const log = await until('the log entry', async () => (await call('GET', `/v1/webhooks/${id}/log`)).body!.attempts[0]);
  t.like(log, { webhook_id: queued.body!.webhook_id, type: 'webhook.test', outcome: 'delivered', http_status: 200 });

  t.like((await call('PATCH', `/v1/webhooks/${id}`, { enabled: false })).body, { enabled: false });
  t.is((await call('POST', `/v1/webhooks/${id}/test`)).status, 409);
  t.is((await call('POST', `/v1/webhooks/${id}/replay`, {})).status, 409);
  t.like((await call('PATCH', `/v1/webhooks/${id}`, { enabled: true })).body, { enabled: true, disabled_reason: null });
  const replayed = await call('POST', `/v1/webhooks/${id}/replay`, { status: ['delivered'] });
  t.deepEqual(replayed.body, { replayed: 1 });
  await until(
    'the replayed delivery',
    () => receiver.accepted().filter((r) => r.webhookId === queued.body!.webhook_id).length === 2,
  );

  t.is((await call('DELETE', `/v1/webhooks/${id}`)).status, 204);
  t.is((await call('GET', `/v1/webhooks/${id}`)).status, 404);
  t.is((await call('GET', '/v1/webhooks/abc')).status, 400);
});

test.serial(
  'POST /v1/documents with callback_url: the jobs of that request, and only they, are called back',
  async (t) => {
    const callbackReceiver = new Receiver();
    await callbackReceiver.start();
    t.teardown(() => callbackReceiver.stop());
    const upload = (fields: Record<string, string>, files: Array<[string, string]>) => {
      const form = new FormData();
      for (const [k, v] of Object.entries(fields)) form.append(k, v);
      for (const [name, text] of files) form.append('file', new Blob([text]), name);
      return fetch(`${url}/v1/documents`, { method: 'POST', body: form, headers: auth });
    };
    const before = await jobCount();
    const bad = await upload({ callback_url: callbackReceiver.url, callback_events: 'budget.alert' }, [
      ['a.md', '# a'],
    ]);
    t.is(bad.status, 400);
    t.regex(((await bad.json()) as { message: string }).message, /callback_events: callbacks take job.state_changed/);
    t.is(await jobCount(), before, 'a refused callback stores nothing');
    const long = await upload({ callback_url: `${callbackReceiver.url}/${'x'.repeat(3000)}` }, [['a.md', '# a']]);
    t.is(long.status, 400);
    t.deepEqual(await long.json(), { error: 'bad_request', message: 'callback_url: longer than 2048 characters' });
    t.is(await jobCount(), before, 'an over-long callback_url stores nothing');
    const allRefused = await upload({ callback_url: callbackReceiver.url }, [['empty.md', '']]);
    t.is(allRefused.status, 422);

    const response = await upload({ callback_url: callbackReceiver.url }, [
      ['cb-one.md', '# One\n\ncallback one'],
      ['cb-two.md', '# Two\n\ncallback two'],
    ]);
    t.is(response.status, 202);
    const body = (await response.json()) as {
      jobs: Array<{ job_id: string }>;
      callback: { secret: string; events: string[] };
    };
    t.deepEqual(body.callback.events, ['job.complete', 'job.failed']);
    callbackReceiver.verifyWith(body.callback.secret);
    const other = await upload({}, [['no-callback.md', '# Three\n\nno callback']]);
    const otherJob = ((await other.json()) as { jobs: Array<{ job_id: string }> }).jobs[0]!.job_id;

    const mine = body.jobs.map((j) => j.job_id);
    await until('both jobs called back', () =>
      mine.every((id) => callbackReceiver.accepted().some((r) => r.payload.data.job_id === id)),
    );
    await until(
      'the other job complete',
      async () =>
        (await db.pool.oneFirst(
          sql.type(z.object({ s: z.string() }))`select state::text as s from jobs where id = ${otherJob}::uuid`,
        )) === 'complete',
    );
    await new Promise((r) => setTimeout(r, 500));
    t.true(callbackReceiver.received.every((r) => r.verified));
    t.deepEqual(
      callbackReceiver
        .accepted()
        .map((r) => [r.payload.type, r.payload.data.job_id])
        .sort(),
      mine.map((id) => ['job.complete', id]).sort(),
      'one job.complete per job of the request; nothing about other jobs',
    );
    const callbacks = await db.pool.oneFirst(sql.type(z.object({ n: z.number() }))`
    select count(*)::int as n from webhook_subscriptions where callback`);
    t.is(callbacks, 1, 'the request whose files were all refused left no callback behind');
  },
);

test.serial('tvdb webhooks add, list, test, log, replay, remove as a real process', async (t) => {
  const env = (extra: Record<string, string> = {}) => cleanEnv({ DATABASE_URL: db.url, ...extra });
  const refused = await runTvdb(['webhooks', 'add', receiver.url], env());
  t.is(refused.code, 1);
  t.regex(refused.stderr, /refused: url: 127\.0\.0\.1 is a loopback address/);
  const added = await runTvdb(
    ['webhooks', 'add', receiver.url, '--events', 'job.failed,job.complete'],
    env({ TVDB_WEBHOOK_ALLOW_PRIVATE: 'true' }),
  );
  t.is(added.code, 0, added.stderr);
  const secret = /secret: (whsec_\S+)/.exec(added.stdout)![1]!;
  const id = /subscription (\d+)/.exec(added.stdout)![1]!;
  receiver.verifyWith(secret);
  const list = await runTvdb(['webhooks', 'list'], env());
  t.regex(
    list.stdout,
    new RegExp(`^ *${id} +http://127\\.0\\.0\\.1:\\d+/hooks/tvdb\\?key=abc +job.complete,job.failed +enabled`, 'm'),
  );
  t.false(list.stdout.includes(secret));
  const sent = await runTvdb(['webhooks', 'test', id, '--wait', '30'], env());
  t.is(sent.code, 0, sent.stderr);
  t.regex(sent.stdout, /webhook\.test .* delivered +200/);
  const log = await runTvdb(['webhooks', 'log', id, '--json'], env());
  t.like(JSON.parse(log.stdout)[0], { type: 'webhook.test', outcome: 'delivered' });
  const replay = await runTvdb(['webhooks', 'replay', id, '--all'], env());
  t.regex(replay.stdout, /1 message\(s\) queued again/);
  t.is((await runTvdb(['webhooks', 'remove', id], env())).code, 0);
  t.is((await runTvdb(['webhooks', 'remove', id], env())).code, 1);
  t.is((await runTvdb(['webhooks', 'add'], env())).code, 2);
  t.is((await runTvdb(['webhooks', 'frobnicate'], env())).code, 2);
});
