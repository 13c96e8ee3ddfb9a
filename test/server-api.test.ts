import test from 'ava';
import { randomBytes } from 'node:crypto';
import { sql } from 'slonik';
import { z } from 'zod';
import { adminQuery, createTestDatabase, databaseUrl, type TestDatabase } from './helpers/database.ts';
import { testServer, jobAwaitingWebhook, envelope, deliver } from './helpers/server.ts';
import { cleanEnv, freePort, runTvdb } from './helpers/cli.ts';
import { ownPostgres } from './helpers/embeddedPostgres.ts';
import { createDatabasePool } from '../lib/db/database.ts';

let db: TestDatabase;
let url: string;
let close: () => Promise<void>;
const TOKEN = 'test-api-token-0123456789';
test.before(async () => {
  db = await createTestDatabase();
  const started = await testServer(db.pool, { apiToken: TOKEN });
  url = started.url;
  close = () => started.server.close();
});
test.after.always(async () => {
  await close?.();
  await db?.drop();
});

const auth = { authorization: `Bearer ${TOKEN}` };
const upload = (files: Array<[string, string | Buffer]>, headers: Record<string, string> = auth) => {
  const form = new FormData();
  for (const [name, content] of files)
    form.append('file', new Blob([typeof content === 'string' ? content : new Uint8Array(content)]), name);
  return fetch(`${url}/v1/documents`, { method: 'POST', body: form, headers });
};
const jobCount = () => db.pool.oneFirst(sql.type(z.object({ n: z.number() }))`select count(*)::int as n from jobs`);

test.serial(
  'POST /v1/documents runs the intake and answers with job ids; refused files are listed with reasons',
  async (t) => {
    const response = await upload(
      [
        ['a.md', '# A\n\nalpha text'],
        ['empty.txt', ''],
        ['b.txt', 'beta text'],
      ],
      { ...auth, 'x-correlation-id': 'corr-api-1' },
    );
    t.is(response.status, 202);
    const body = (await response.json()) as {
      jobs: Array<{ file: string; job_id: string; correlation_id: string }>;
      refused: Array<{ file: string; reason: string }>;
    };
    t.deepEqual(
      body.jobs.map((j) => j.file),
      ['a.md', 'b.txt'],
    );
    t.true(body.jobs.every((j) => j.correlation_id === 'corr-api-1'));
    t.deepEqual(body.refused, [{ file: 'empty.txt', reason: 'the file is empty' }]);
    const job = await fetch(`${url}/v1/jobs/${body.jobs[0]!.job_id}`, { headers: auth });
    t.is(job.status, 200);
    const detail = (await job.json()) as { state: string; timeline: Array<{ state: string }> };
    t.is(detail.state, 'parse_queued');
    t.deepEqual(
      detail.timeline.map((e) => e.state),
      ['uploaded', 'parse_queued'],
    );
    const list = (await (await fetch(`${url}/v1/jobs?state=parse_queued`, { headers: auth })).json()) as {
      jobs: unknown[];
    };
    t.true(list.jobs.length >= 2);
  },
);

test.serial('refused requests store nothing and answer JSON {error, message}', async (t) => {
  const before = await jobCount();
  const allRefused = await upload([
    ['empty.txt', ''],
    ['bin.dat', Buffer.from([0, 1, 2, 0, 0])],
  ]);
  t.is(allRefused.status, 422);
  t.like(await allRefused.json(), { error: 'refused' });
  const noAuth = await upload([['a.txt', 'x']], {});
  t.is(noAuth.status, 401);
  t.like(await noAuth.json(), { error: 'unauthorized' });
  t.is((await upload([['a.txt', 'x']], { authorization: 'Bearer wrong-token-xxxxxxxx' })).status, 401);
  const notMultipart = await fetch(`${url}/v1/documents`, {
    method: 'POST',
    body: 'hello',
    headers: { ...auth, 'content-type': 'text/plain' },
  });
  t.is(notMultipart.status, 415);
  const badCorrelation = await upload([['a.txt', 'x']], { ...auth, 'x-correlation-id': 'has spaces' });
  t.is(badCorrelation.status, 400);
  const empty = await fetch(`${url}/v1/documents`, { method: 'POST', body: new FormData(), headers: auth });
  t.is(empty.status, 400);
  t.is(await jobCount(), before);
  t.is((await fetch(`${url}/v1/jobs/not-a-uuid`, { headers: auth })).status, 400);
  t.is((await fetch(`${url}/v1/jobs/00000000-0000-4000-8000-000000000000`, { headers: auth })).status, 404);
  t.is((await fetch(`${url}/v1/jobs?state=bogus`, { headers: auth })).status, 400);
  t.like(await (await fetch(`${url}/nope`)).json(), { error: 'not_found' });
});

test('healthz answers; readyz checks the database and the migrations', async (t) => {
  t.is((await fetch(`${url}/healthz`)).status, 200);
  t.deepEqual(await (await fetch(`${url}/readyz`)).json(), { ok: true });
  const name = `tvdb_test_${randomBytes(6).toString('hex')}`;
  await adminQuery(`create database ${name}`);
  const pool = await createDatabasePool(databaseUrl(process.env.TVDB_TEST_ADMIN_URL!, name), 2);
  const bare = await testServer(pool, { apiToken: TOKEN });
  try {
    const ready = await fetch(`${bare.url}/readyz`);
    t.is(ready.status, 503);
    t.deepEqual(await ready.json(), { ok: false, reason: 'migrations_pending' }, 'a short code, no detail');
  } finally {
    await bare.server.close();
    await pool.end();
    await adminQuery(`drop database ${name} with (force)`);
  }
});

test('without TVDB_API_TOKEN the server refuses to start on a non-loopback address', async (t) => {
  const result = await runTvdb(
    ['serve'],
    cleanEnv({ DATABASE_URL: 'postgres://nobody@127.0.0.1:1/none', HOST: '0.0.0.0', PORT: '0' }),
  );
  t.is(result.code, 78);
  t.regex(result.stderr, /TVDB_API_TOKEN is required to listen on 0\.0\.0\.0/);
});

test('Postgres stopped: the webhook answers 503; restarted: the retried delivery is accepted', async (t) => {
  const postgres = await ownPostgres(t, 'tvdb-outage-');
  const pool = await createDatabasePool(postgres.url, 2);
  const app = await testServer(pool);
  t.teardown(async () => {
    await app.server.close();
    await pool.end();
  });
  const job = await jobAwaitingWebhook(pool);
  const body = JSON.stringify(envelope(job.lpJobId));
  await postgres.stop();
  const during = await deliver(app.url, job.token, body);
  t.is(during.status, 503);
  t.like(during.body, { error: 'unavailable' });
  t.is((await fetch(`${app.url}/readyz`)).status, 503);
  await postgres.restart();
  let after = await deliver(app.url, job.token, body);
  for (let i = 0; i < 20 && after.status === 503; i++) {
    await new Promise((r) => setTimeout(r, 250)); // pool connections reconnect
    after = await deliver(app.url, job.token, body);
  }
  t.is(after.status, 200);
  const rows = await pool.oneFirst(
    sql.type(
      z.object({ n: z.number() }),
    )`select count(*)::int as n from webhook_deliveries where job_id = ${job.id}::uuid`,
  );
  t.is(rows, 1);
});

test('SIGTERM: the server stops accepting, finishes the request in flight, and exits 0', async (t) => {
  const { startTvdb, waitForOutput } = await import('./helpers/processes.ts');
  const { request } = await import('node:http');
  const port = await freePort();
  const serve = startTvdb(
    ['serve', '--no-workers'],
    cleanEnv({ DATABASE_URL: db.url, PORT: String(port), TVDB_API_TOKEN: TOKEN }),
  );
  t.teardown(() => serve.stop('SIGKILL'));
  await waitForOutput(serve, /listening on/);
  const boundary = 'tvdbboundary';
  const head = `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="slow.txt"\r\nContent-Type: text/plain\r\n\r\n`;
  const tail = `\r\n--${boundary}--\r\n`;
  const response = new Promise<{ status: number; body: string }>((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        method: 'POST',
        path: '/v1/documents',
        headers: { authorization: `Bearer ${TOKEN}`, 'content-type': `multipart/form-data; boundary=${boundary}` },
      },
      (res) => {
        let body = '';
        res.on('data', (d) => (body += d)).on('end', () => resolve({ status: res.statusCode!, body }));
      },
    );
    req.on('error', reject);
    req.write(head + 'the first half of a slowly uploaded document, ');
    setTimeout(() => {
      serve.child.kill('SIGTERM'); // mid-request
      setTimeout(() => req.end('and its second half.' + tail), 300);
    }, 200);
  });
  const answer = await response;
  t.is(answer.status, 202, answer.body);
  t.is(await serve.exited, 0);
  const refused = await fetch(`http://127.0.0.1:${port}/healthz`).then(
    () => 'answered',
    () => 'refused',
  );
  t.is(refused, 'refused', 'no longer accepting');
});
