// Logs never carry secrets: values under secret-shaped keys at any depth, URL credentials, secret
// query parameters and the LlamaParse webhook token are redacted when a line is written, in the
// logged object, child bindings, messages and serialized errors.
import test from 'ava';
import { Writable } from 'node:stream';
import type { DatabasePool } from 'slonik';
import { createLogger, jobLogger } from '../lib/log.ts';
import { createTestDatabase } from './helpers/database.ts';
import { deliver, envelope, jobAwaitingWebhook, testServer } from './helpers/server.ts';

function capture() {
  const lines: Array<Record<string, unknown>> = [];
  const stream = new Writable({
    write(chunk, _enc, done) {
      for (const line of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(line));
      done();
    },
  });
  return { lines, log: createLogger('debug', stream) };
}

test('secrets are redacted by configuration, wherever they appear in a log object', (t) => {
  const { lines, log } = capture();
  log.info({ config: { LLAMA_CLOUD_API_KEY: 'llx-secret-1', DATABASE_URL: 'postgres://u:pw@h/db' } }, 'config');
  log.info({ request: { headers: { authorization: 'Bearer llx-secret-2' } } }, 'call');
  log.info({ client: { apiKey: 'sk-secret-3' }, webhook: { secret: 'whsec-4' } }, 'clients');
  const text = JSON.stringify(lines);
  for (const secret of ['llx-secret-1', 'pw@h', 'llx-secret-2', 'sk-secret-3', 'whsec-4'])
    t.false(text.includes(secret), secret);
  t.is(lines.length, 3);
});

test('secret-shaped keys at any depth and secrets inside strings and errors are redacted', (t) => {
  const { lines, log } = capture();
  const logged = {
    token: 'secret-top-token',
    secret: 'secret-top-secret',
    apiKey: 'secret-top-apikey',
    'x-api-key': 'secret-header-key',
    a: { b: { c: { d: { password: 'secret-deep-password', webhook_token: 'secret-deep-token' } } } },
    list: [{ nested: { client_secret: 'secret-in-array' } }],
    env: {
      TVDB_MIGRATION_DATABASE_URL: 'postgres://owner:secret-migration@db/tvdb',
      ALERT_WEBHOOK_URL: 'https://hooks.example.com/services/secret-alert-path',
    },
    note: 'calling https://api.example.com/v1?api_key=secret-query-key&page=2',
    prompt_tokens: 1234,
    has_secret: true,
  };
  const before = JSON.stringify(logged);
  const cause = new Error('connect to postgres://app:secret-in-cause@10.0.0.5:5432/tvdb refused');
  const error = Object.assign(new Error('upload to https://user:secret-in-message@h.example/x failed', { cause }), {
    detail: { deeper: { authorization: 'Bearer secret-in-error-prop' } },
  });
  log.error({ ...logged, err: error }, 'failed: see postgres://tvdb:secret-in-msg@localhost/db');
  log.error(new Error('bare error with https://u:secret-bare@host/'));
  log
    .child({ config: { EMBEDDINGS_API_KEY: 'secret-child-binding' } })
    .child({ token: 'secret-grandchild' })
    .info('hi');
  jobLogger(log, { correlation_id: 'c', job_id: 'j', stage: 'parse' }).warn(
    { url: 'https://tvdb.example/webhooks/llamaparse/secret-webhook-path' },
    'POST /webhooks/llamaparse/secret-webhook-msg failed',
  );
  const text = JSON.stringify(lines);
  for (const leaked of text.match(/secret-[a-z-]+/g) ?? []) t.fail(`${leaked} reached the log`);
  t.is(JSON.stringify(logged), before, "the caller's object is not changed");
  const [first] = lines;
  t.like(first, { prompt_tokens: 1234, has_secret: true, token: '[redacted]', apiKey: '[redacted]' });
  t.regex(String(first!.note), /api_key=\[redacted\]&page=2/);
  t.like(first!.err, { type: 'Error' });
  t.regex(String((first!.err as { message: string }).message), /postgres:\/\/\[redacted\]@10\.0\.0\.5:5432\/tvdb/);
  t.regex(String(lines[3]!.url), /\/webhooks\/llamaparse\/\[redacted\]$/);
  t.is(lines.length, 4);
});

test('a 500 from the webhook route does not log the job token in its path', async (t) => {
  const db = await createTestDatabase();
  t.teardown(() => db.drop());
  const job = await jobAwaitingWebhook(db.pool, 'lp-log-test');
  // A pool whose every query fails with a non-outage error: the route answers 500.
  const broken = new Proxy(db.pool, {
    get: (target, key, receiver) => {
      const value = Reflect.get(target, key, receiver);
      return typeof value === 'function'
        ? () => Promise.reject(new Error('function record_webhook_deliveries does not exist'))
        : value;
    },
  }) as DatabasePool;
  const { lines, log } = capture();
  const { server, url } = await testServer(broken, { log });
  t.teardown(() => server.close());
  const response = await deliver(url, job.token, JSON.stringify(envelope(job.lpJobId)));
  t.is(response.status, 500);
  const failed = lines.find((l) => l.msg === 'request failed');
  t.truthy(failed, 'the failure is logged');
  t.is(failed!.path, '/webhooks/llamaparse/[redacted]');
  t.false(JSON.stringify(lines).includes(job.token), 'the token is nowhere in the log');
});

test('every line of a job logger carries correlation_id, job_id and stage', (t) => {
  const { lines, log } = capture();
  const jobLog = jobLogger(log, { correlation_id: 'corr-1', job_id: 'job-1', stage: 'parse' });
  jobLog.info('uploading');
  jobLog.child({ attempt: 2 }).warn('retrying');
  t.is(lines.length, 2);
  for (const line of lines) t.like(line, { correlation_id: 'corr-1', job_id: 'job-1', stage: 'parse' });
});
