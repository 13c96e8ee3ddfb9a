// GET /openapi.json describes the API: it is a valid OpenAPI 3.1 document; every route the server
// registers is described; and every described route, called as in the examples below, answers
// with a status it documents and a body its schema accepts (bearer routes also answer 401 as
// documented). A route added without a declaration, or without an example here, fails this test.
import test from 'ava';
import { randomUUID } from 'node:crypto';
import { Validator } from '@seriousme/openapi-schema-validator';
import { createTestDatabase, type TestDatabase } from './helpers/database.ts';
import { envelope, jobAwaitingWebhook, testServer } from './helpers/server.ts';
import { insertJob } from './helpers/jobs.ts';
import { createApp } from '../server/app.ts';
import { declaredRoutes, routeKey, type RouteDoc } from '../server/routeRegistry.ts';
import { openApiPath } from '../server/openapiDocument.ts';
import { addSubscription } from '../lib/outbox/addSubscription.ts';
import { signBody } from '../lib/webhooks/signature.ts';

const TOKEN = 'test-api-token-0123456789';
const auth = { authorization: `Bearer ${TOKEN}` };
let db: TestDatabase;
let started: Awaited<ReturnType<typeof testServer>>;
test.before(async () => {
  db = await createTestDatabase();
  started = await testServer(db.pool, { apiToken: TOKEN, outbound: { allowPrivate: true } });
});
test.after.always(async () => {
  await started?.server.close();
  await db?.drop();
});

type Fixtures = { jobId: string; subscriptionId: number; doomedId: number; token: string; lpJobId: string };
type Example = { status: number; path?: string; headers?: Record<string, string>; body?: BodyInit };
const json = (value: unknown) => ({ body: JSON.stringify(value), headers: { 'content-type': 'application/json' } });
const form = (fields: Record<string, string>, files: Array<[string, string]>) => {
  const f = new FormData();
  for (const [k, v] of Object.entries(fields)) f.append(k, v);
  for (const [name, text] of files) f.append('file', new Blob([text]), name);
  return { body: f };
};
const signed = (value: unknown) => {
  const body = JSON.stringify(value);
  return { body, headers: { 'content-type': 'application/json', 'lc-signature': signBody(body, 'whsec-current') } };
};

/** How to call each route, and what it must answer. One entry per declared route. */
const EXAMPLES: Record<string, (fx: Fixtures) => Example[]> = {
  'GET /healthz': () => [{ status: 200 }],
  'GET /readyz': () => [{ status: 200 }],
  'GET /openapi.json': () => [{ status: 200 }],
  'POST /webhooks/llamaparse/:token': (fx) => [
    { status: 200, path: `/webhooks/llamaparse/${fx.token}`, ...signed(envelope(fx.lpJobId)) },
    { status: 404, path: '/webhooks/llamaparse/unknown', ...signed(envelope('lp-x')) },
    { status: 401, path: `/webhooks/llamaparse/${fx.token}`, ...json(envelope(fx.lpJobId)) },
  ],
  'POST /v1/documents': () => [
    { status: 202, ...form({ callback_url: 'http://127.0.0.1:9/cb' }, [['doc.md', '# A doc\n\nwith text']]) },
    { status: 422, ...form({}, [['empty.md', '']]) },
    { status: 400, ...form({ callback_url: 'ftp://x' }, [['doc.md', '# A']]) },
  ],
  'GET /v1/jobs': () => [
    { status: 200, path: '/v1/jobs?limit=5' },
    { status: 400, path: '/v1/jobs?state=bogus' },
  ],
  'GET /v1/jobs/:id': (fx) => [
    { status: 200, path: `/v1/jobs/${fx.jobId}` },
    { status: 404, path: `/v1/jobs/${randomUUID()}` },
    { status: 400, path: '/v1/jobs/nope' },
  ],
  'POST /v1/search': () => [
    { status: 200, ...json({ query: 'lighthouse keeping', k: 3, mode: 'hybrid', file_name: '*.md' }) },
    { status: 400, ...json({ query: 'lighthouse keeping', k: 0 }) },
    { status: 415, body: 'query=x', headers: { 'content-type': 'application/x-www-form-urlencoded' } },
  ],
  'GET /metrics': () => [{ status: 200 }],
  'GET /status': () => [{ status: 200 }, { status: 400, path: '/status?refresh=0' }],
  'GET /v1/webhooks': () => [{ status: 200 }, { status: 200, path: '/v1/webhooks?callbacks=true' }],
  'POST /v1/webhooks': () => [
    { status: 201, ...json({ url: 'http://127.0.0.1:9/new', events: ['job.failed'] }) },
    { status: 400, ...json({ url: 'http://127.0.0.1:9/new', events: [] }) },
    { status: 415, body: 'url=x', headers: { 'content-type': 'application/x-www-form-urlencoded' } },
  ],
  'GET /v1/webhooks/:id': (fx) => [
    { status: 200, path: `/v1/webhooks/${fx.subscriptionId}` },
    { status: 404, path: '/v1/webhooks/999999' },
  ],
  'PATCH /v1/webhooks/:id': (fx) => [
    { status: 200, path: `/v1/webhooks/${fx.subscriptionId}`, ...json({ events: ['job.complete'] }) },
    { status: 400, path: `/v1/webhooks/${fx.subscriptionId}`, ...json({}) },
  ],
  'POST /v1/webhooks/:id/test': (fx) => [{ status: 202, path: `/v1/webhooks/${fx.subscriptionId}/test` }],
  'GET /v1/webhooks/:id/log': (fx) => [{ status: 200, path: `/v1/webhooks/${fx.subscriptionId}/log?limit=10` }],
  'POST /v1/webhooks/:id/replay': (fx) => [
    { status: 200, path: `/v1/webhooks/${fx.subscriptionId}/replay`, ...json({ status: ['delivered'] }) },
    { status: 400, path: `/v1/webhooks/${fx.subscriptionId}/replay`, ...json({ since: 'yesterday' }) },
  ],
  'DELETE /v1/webhooks/:id': (fx) => [
    { status: 204, path: `/v1/webhooks/${fx.doomedId}` },
    { status: 404, path: `/v1/webhooks/${fx.doomedId}` },
  ],
};

const sample = (path: string) => path.replace(/:(\w+)/g, 'sample');

test('the document is valid OpenAPI 3.1 and describes every route the server registers, and no other', async (t) => {
  const document = await (await fetch(`${started.url}/openapi.json`)).json();
  const validation = await new Validator().validate(document as Parameters<Validator['validate']>[0]);
  t.true(validation.valid, JSON.stringify(validation.errors, null, 1));
  t.is((document as { openapi: string }).openapi, '3.1.0');
  const app = createApp(started.ctx);
  const registered = (
    app as unknown as { routes: Array<{ method: string; pattern: RegExp; keys: string[] | false }> }
  ).routes.filter((r) => r.method !== '');
  const declared = declaredRoutes();
  for (const route of registered) {
    const matches = declared.filter(
      (d) =>
        d.method.toUpperCase() === route.method &&
        route.pattern.test(sample(d.path)) &&
        String(d.path.match(/:\w+/g)?.map((k) => k.slice(1)) ?? []) === String(route.keys || []),
    );
    t.is(
      matches.length,
      1,
      `${route.method} ${route.pattern}: ${matches.length ? 'described more than once' : 'not described (call declareRoute)'}`,
    );
  }
  t.is(declared.length, registered.length, 'every declared route is registered');
  const paths = (document as { paths: Record<string, Record<string, unknown>> }).paths;
  for (const d of declared)
    t.truthy(paths[openApiPath(d.path)]?.[d.method], `${routeKey(d.method, d.path)} in /openapi.json`);
  t.deepEqual(Object.keys((document as { webhooks: object }).webhooks).sort(), [
    'breaker.open',
    'budget.alert',
    'job.complete',
    'job.failed',
    'job.state_changed',
    'webhook.test',
  ]);
});

async function check(
  t: import('ava').ExecutionContext,
  route: RouteDoc,
  example: Example,
  headers: Record<string, string>,
) {
  const path = example.path ?? route.path;
  const response = await fetch(`${started.url}${path}`, {
    method: route.method.toUpperCase(),
    headers: { ...headers, ...example.headers },
    ...(example.body === undefined ? {} : { body: example.body }),
  });
  const where = `${route.method.toUpperCase()} ${path}`;
  t.is(
    response.status,
    example.status,
    `${where}: ${await response
      .clone()
      .text()
      .then((s) => s.slice(0, 300))}`,
  );
  const doc = route.responses[response.status];
  if (!doc) {
    t.fail(`${where} answered ${response.status}, which is not documented`);
    return;
  }
  const text = await response.text();
  if (!doc.schema) {
    t.is(text, '', `${where}: no body documented`);
    return;
  }
  const type = doc.contentType ?? 'application/json';
  t.true(
    (response.headers.get('content-type') ?? '').startsWith(type.split(';')[0]!),
    `${where}: content-type ${response.headers.get('content-type')}, documented ${type}`,
  );
  const value = type.startsWith('application/json') ? JSON.parse(text) : text;
  const result = doc.schema.safeParse(value);
  t.true(
    result.success,
    `${where} ${response.status}: ${result.success ? '' : JSON.stringify(result.error.issues).slice(0, 500)}`,
  );
}

test('every described route answers as described', async (t) => {
  const job = await insertJob(db.pool);
  const awaiting = await jobAwaitingWebhook(db.pool);
  const sub = await addSubscription(
    db.pool,
    { url: 'http://127.0.0.1:9/hook', events: ['job.complete'] },
    { allowPrivate: true },
  );
  const doomed = await addSubscription(
    db.pool,
    { url: 'http://127.0.0.1:9/gone', events: ['job.complete'] },
    { allowPrivate: true },
  );
  const fx: Fixtures = {
    jobId: job.id,
    subscriptionId: sub.id,
    doomedId: doomed.id,
    token: awaiting.token,
    lpJobId: awaiting.lpJobId,
  };
  for (const route of declaredRoutes()) {
    const key = routeKey(route.method, route.path);
    const examples = EXAMPLES[key];
    if (!examples) {
      t.fail(`${key} has no example in test/openapi.test.ts: add one`);
      continue;
    }
    const list = examples(fx);
    if (route.security === 'bearer' || route.security === 'bearer_or_basic')
      await check(t, route, { ...list[0]!, status: 401 }, {});
    for (const example of list) await check(t, route, example, auth);
  }
});
