// What a page open in the operator's browser can do to the server: nothing. Basic credentials
// work on GET /status only; a cross-origin POST (CSRF) is refused; a Host header that does not
// name the server (DNS rebinding) answers 421; /readyz says only a short code without the token.
import test from 'ava';
import { request } from 'node:http';
import { createTestDatabase, type TestDatabase } from './helpers/database.ts';
import { testServer } from './helpers/server.ts';
import { defaultAllowedHosts, hostAllowed } from '../lib/http/hosts.ts';

let db: TestDatabase;
let url: string;
let port: string;
let close: () => Promise<void>;
const TOKEN = 'browser-test-token-0123456789';
test.before(async () => {
  db = await createTestDatabase();
  const started = await testServer(db.pool, { apiToken: TOKEN });
  url = started.url;
  port = new URL(url).port;
  close = () => started.server.close();
});
test.after.always(async () => {
  await close?.();
  await db?.drop();
});

// fetch will not send a forged Host header: a raw request does.
function raw(method: string, path: string, headers: Record<string, string>, body = '') {
  return new Promise<{ status: number; body: string }>((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port, path, method, headers: { ...headers, 'content-length': Buffer.byteLength(body) } },
      (res) => {
        let text = '';
        res.on('data', (d) => (text += d)).on('end', () => resolve({ status: res.statusCode!, body: text }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}
const basic = `Basic ${Buffer.from(`anyone:${TOKEN}`).toString('base64')}`;
const bearer = `Bearer ${TOKEN}`;
const form = (boundary: string) =>
  `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="csrf.txt"\r\n\r\nplanted by a web page\r\n--${boundary}--\r\n`;

test('Basic credentials open GET /status only; the API and /metrics want the bearer token', async (t) => {
  t.is((await raw('GET', '/status?format=json', { host: `127.0.0.1:${port}`, authorization: basic })).status, 200);
  t.is((await raw('GET', '/v1/jobs', { host: `127.0.0.1:${port}`, authorization: basic })).status, 401);
  t.is((await raw('GET', '/metrics', { host: `127.0.0.1:${port}`, authorization: basic })).status, 401);
  const upload = await raw(
    'POST',
    '/v1/documents',
    { host: `127.0.0.1:${port}`, authorization: basic, 'content-type': 'multipart/form-data; boundary=b' },
    form('b'),
  );
  t.is(upload.status, 401);
  t.is((await raw('GET', '/v1/jobs', { host: `127.0.0.1:${port}`, authorization: bearer })).status, 200);
});

test('a cross-origin POST from a browser is refused, even with credentials; same origin passes', async (t) => {
  const headers = {
    host: `127.0.0.1:${port}`,
    authorization: bearer,
    'content-type': 'multipart/form-data; boundary=b',
  };
  const cases: Array<Record<string, string>> = [
    { origin: 'http://evil.example' },
    { origin: 'null' },
    { origin: `http://localhost:${Number(port) + 1}` },
    { 'sec-fetch-site': 'cross-site' },
  ];
  for (const extra of cases) {
    const answer = await raw('POST', '/v1/documents', { ...headers, ...extra }, form('b'));
    t.is(answer.status, 403, JSON.stringify(extra));
    t.is(JSON.parse(answer.body).error, 'cross_origin');
  }
  const same = await raw('POST', '/v1/documents', { ...headers, origin: `http://127.0.0.1:${port}` }, form('b'));
  t.is(same.status, 202);
});

test('DNS rebinding: a Host that does not name this server answers 421, on reads too', async (t) => {
  for (const host of [`rebind.evil.example:${port}`, 'localhost.evil.example', 'a@127.0.0.1']) {
    const answer = await raw('GET', '/v1/jobs', { host, authorization: bearer });
    t.is(answer.status, 421, host);
  }
  t.is((await raw('GET', '/status?format=json', { host: `attacker.test:${port}`, authorization: basic })).status, 421);
  for (const host of [`localhost:${port}`, `127.0.0.1:${port}`, `[::1]:${port}`, `10.1.2.3:${port}`])
    t.is((await raw('GET', '/v1/jobs', { host, authorization: bearer })).status, 200, host);
  // Probes answer whatever the Host (orchestrators call them by address or service name).
  t.is((await raw('GET', '/healthz', { host: 'pod-name.internal' })).status, 200);
});

test('TVDB_ALLOWED_HOSTS defaults: loopback names, the listening address, PUBLIC_BASE_URL', (t) => {
  const allowed = new Set(defaultAllowedHosts('tvdb.internal', 'https://hooks.example.com/base'));
  t.true(hostAllowed('tvdb.internal:8080', allowed));
  t.true(hostAllowed('HOOKS.example.com', allowed));
  t.true(hostAllowed('localhost', allowed));
  t.false(hostAllowed('evil.example', allowed));
  t.false(hostAllowed('localhost@evil.example', allowed));
  t.false(hostAllowed(undefined, allowed));
  t.deepEqual(defaultAllowedHosts('0.0.0.0', undefined), ['localhost', '127.0.0.1', '::1']);
});

test('/readyz: a short code without the token; the details with it', async (t) => {
  const { createDatabasePool } = await import('../lib/db/database.ts');
  const { adminQuery } = await import('./helpers/database.ts');
  const name = `tvdb_test_gone_${process.pid}`;
  await adminQuery(`create database ${name}`);
  const pool = await createDatabasePool(db.ownerUrl.replace(/\/[^/]+$/, `/${name}`), 1);
  await adminQuery(`drop database ${name} with (force)`); // its connections end: queries fail
  const down = await testServer(pool, { apiToken: TOKEN });
  try {
    const anonymous = await fetch(`${down.url}/readyz`);
    t.is(anonymous.status, 503);
    t.deepEqual(await anonymous.json(), { ok: false, reason: 'database_unreachable' });
    const detailed = (await (await fetch(`${down.url}/readyz`, { headers: { authorization: bearer } })).json()) as {
      detail?: string;
    };
    t.truthy(detailed.detail);
  } finally {
    await down.server.close();
    await pool.end();
  }
});
