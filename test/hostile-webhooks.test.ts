// 10,000 hostile webhook deliveries against a running `tvdb serve` (a real process): forged,
// missing and wrong signatures, malformed and truncated JSON, huge numbers, invalid UTF-8, NULs,
// stale timestamps, unknown and malformed tokens, the right token with another LlamaParse job id,
// one valid delivery replayed 100 times, 1 MB bodies and wrong content types. Zero 5xx, no job
// moves, the server's RSS grows by less than 50 MB, and refusal rows stay within the per-source
// bound (every refusal counted).
import test from 'ava';
import { readFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { randomBytes, randomUUID } from 'node:crypto';
import { sql } from 'slonik';
import { z } from 'zod';
import { createTestDatabase, type TestDatabase } from './helpers/database.ts';
import { jobAwaitingWebhook, envelope } from './helpers/server.ts';
import { cleanEnv, freePort } from './helpers/cli.ts';
import { startTvdb, waitForOutput } from './helpers/processes.ts';
import { signBody } from '../lib/webhooks/signature.ts';

const DELIVERIES = 10_000;
const ROWS_PER_MINUTE = 50;
const SECRET = 'whsec-flood-0123456789';

let db: TestDatabase;
test.before(async () => (db = await createTestDatabase({ poolSize: 2 })));
test.after.always(() => db?.drop());

const rssMb = (pid: number) => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) / 1024;

type Delivery = { path: string; body: Buffer; headers: Record<string, string>; kind: string };

function hostile(i: number, jobs: Array<{ token: string; lpJobId: string }>, replay: Delivery): Delivery {
  const [a, b] = jobs;
  const signed = (kind: string, body: string | Buffer, token = a!.token, type = 'application/json'): Delivery => {
    const bytes = Buffer.isBuffer(body) ? body : Buffer.from(body);
    return {
      kind,
      path: `/webhooks/llamaparse/${token}`,
      body: bytes,
      headers: { 'content-type': type, 'lc-signature': signBody(bytes, SECRET) },
    };
  };
  const valid = () => JSON.stringify(envelope(a!.lpJobId));
  if (i % 100 === 50) return replay; // 100 replays of one valid delivery
  if (i % 100 === 99) return { ...signed('1 MB body', randomBytes(1024 * 1024)) };
  switch (i % 16) {
    case 0:
      return {
        ...signed('forged signature', valid()),
        headers: { 'content-type': 'application/json', 'lc-signature': `sha256=${randomBytes(32).toString('hex')}` },
      };
    case 1:
      return { ...signed('missing signature', valid()), headers: { 'content-type': 'application/json' } };
    case 2:
      return { ...signed('wrong signature scheme', valid()), headers: { 'lc-signature': 'sha1=' + 'ab'.repeat(20) } };
    case 3:
      return signed('malformed JSON', '{"event_id": "x", "event_type": ');
    case 4:
      return signed('truncated JSON', valid().slice(0, 40));
    case 5:
      return signed(
        'huge numbers',
        `{"event_id":"${randomUUID()}","event_type":"parse.success","timestamp":1e400,"data":{"job_id":"${a!.lpJobId}"}}`,
      );
    case 6:
      return signed(
        'huge finite timestamp',
        JSON.stringify({ ...envelope(a!.lpJobId), timestamp: 1.7e308, event_id: '9'.repeat(180) }),
      );
    case 7:
      return signed(
        'invalid UTF-8',
        Buffer.concat([Buffer.from('{"event_id":"'), Buffer.from([0xc3, 0x28, 0xff, 0xfe]), Buffer.from('"}')]),
      );
    case 8:
      return signed('NUL in event_id', JSON.stringify(envelope(a!.lpJobId, { event_id: `nul\u0000${i}` })));
    case 9:
      return signed('NUL in event_type', JSON.stringify(envelope(a!.lpJobId, { event_type: 'parse.\u0000success' })));
    case 10:
      return signed('stale timestamp', JSON.stringify(envelope(a!.lpJobId, { timestamp: Date.now() / 1000 - 3600 })));
    case 11:
      return signed('unknown token', valid(), `tok${randomBytes(16).toString('hex')}`);
    case 12:
      return signed('malformed token', valid(), ['%00', '%ZZ', 'x'.repeat(3000), '..%2F..%2Fetc', 'a%00b'][i % 5]);
    case 13:
      return signed('another LlamaParse job', JSON.stringify(envelope(b!.lpJobId)));
    case 14:
      return signed(
        'wrong content type',
        valid(),
        a!.token,
        ['text/plain', 'multipart/form-data; boundary=x', 'application/x-www-form-urlencoded'][i % 3],
      );
    default:
      return signed('not an envelope', JSON.stringify([1, 2, { deeply: [[[[[[]]]]]] }]));
  }
}

function send(agent: Agent, port: number, d: Delivery): Promise<number | string> {
  return new Promise((resolve) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        agent,
        method: 'POST',
        path: d.path,
        headers: { ...d.headers, 'content-length': d.body.length },
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode!));
      },
    );
    // A 413 closes the connection while a 1 MB body is still being written: the client may see the
    // reset before the answer. That is not a server error.
    req.on('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? 'error'));
    req.end(d.body);
  });
}

test('10,000 hostile deliveries: zero 5xx, no job moved, bounded memory and bounded refusal rows', async (t) => {
  const jobs = [await jobAwaitingWebhook(db.pool), await jobAwaitingWebhook(db.pool)];
  const port = await freePort();
  const serve = startTvdb(
    ['serve', '--no-workers'],
    cleanEnv({
      DATABASE_URL: db.url,
      PORT: String(port),
      LLAMAPARSE_WEBHOOK_SECRET: SECRET,
      WEBHOOK_REFUSAL_ROWS_PER_MINUTE: String(ROWS_PER_MINUTE),
      TVDB_DB_POOL_SIZE: '8',
      LOG_LEVEL: 'error',
      // Without a cap V8 lets garbage pile up to a few hundred MB before collecting (measured: +120 MB
      // of RSS over this flood, the same with or without the 1 MB bodies); with one it collects, and
      // what still grew would be a leak. Operators set the same (README: Operations).
      NODE_OPTIONS: '--max-old-space-size=128',
    }),
  );
  t.teardown(() => serve.stop('SIGKILL'));
  await waitForOutput(serve, /listening on/);
  const pid = serve.child.pid!;
  const state = () =>
    db.pool.any(sql.type(z.object({ id: z.string(), state: z.string(), events: z.number() }))`
      select j.id::text, j.state::text, (select count(*)::int from job_events e where e.job_id = j.id) as events
      from jobs j order by j.id`);
  const before = await state();

  const body = Buffer.from(JSON.stringify(envelope(jobs[0]!.lpJobId)));
  const replay: Delivery = {
    kind: 'valid, replayed',
    path: `/webhooks/llamaparse/${jobs[0]!.token}`,
    body,
    headers: { 'content-type': 'application/json', 'lc-signature': signBody(body, SECRET) },
  };
  const agent = new Agent({ keepAlive: true, maxSockets: 32 });
  const statuses = new Map<string, Map<string, number>>();
  const run = async (from: number, to: number) => {
    let next = from;
    const worker = async () => {
      while (next < to) {
        const d = hostile(next++, jobs, replay);
        const status = String(await send(agent, port, d));
        const byKind = statuses.get(d.kind) ?? new Map<string, number>();
        byKind.set(status, (byKind.get(status) ?? 0) + 1);
        statuses.set(d.kind, byKind);
      }
    };
    await Promise.all(Array.from({ length: 32 }, worker));
  };
  const started = Date.now();
  await run(0, 500); // warm-up: code loaded, pools filled
  const rssBefore = rssMb(pid);
  let rssPeak = rssBefore;
  const sampler = setInterval(() => (rssPeak = Math.max(rssPeak, rssMb(pid))), 100);
  await run(500, DELIVERIES);
  clearInterval(sampler);
  agent.destroy();
  const rssAfter = rssMb(pid);
  const seconds = (Date.now() - started) / 1000;

  const summary = [...statuses].map(([kind, s]) => `${kind}: ${[...s].map(([k, n]) => `${k}x${n}`).join(' ')}`);
  t.log(`${DELIVERIES} deliveries in ${seconds.toFixed(1)} s (${Math.round(DELIVERIES / seconds)}/s)`);
  t.log(
    `server RSS: ${rssBefore.toFixed(1)} MB after warm-up, peak ${rssPeak.toFixed(1)} MB, ${rssAfter.toFixed(1)} MB at the end`,
  );
  for (const line of summary) t.log(line);

  const all = [...statuses.values()].flatMap((s) => [...s]);
  t.is(all.filter(([status]) => /^5/.test(status)).length, 0, 'no 5xx');
  t.deepEqual(
    all
      .filter(([status]) => !/^\d+$/.test(status))
      .map(([status]) => status)
      .filter((s) => s !== 'ECONNRESET' && s !== 'EPIPE'),
    [],
    'no client error but a reset of a 1 MB body',
  );
  for (const [kind, s] of statuses)
    if (kind === '1 MB body')
      t.true(
        [...s.keys()].every((k) => ['413', 'ECONNRESET', 'EPIPE'].includes(k)),
        kind,
      );
  t.deepEqual([...statuses.get('valid, replayed')!.keys()], ['200']);
  t.deepEqual(await state(), before, 'no job moved and no event was written');
  t.true(rssPeak - rssBefore < 50, `RSS grew ${(rssPeak - rssBefore).toFixed(1)} MB`);

  const perMinute = await db.pool.any(sql.type(z.object({ minute: z.string(), rows: z.number() }))`
    select date_trunc('minute', at)::text as minute, count(*)::int as rows from webhook_refusal_log
    where source_address = '127.0.0.1' group by 1`);
  for (const m of perMinute) t.true(m.rows <= ROWS_PER_MINUTE, `${m.rows} rows in ${m.minute}`);
  const counted = await db.pool.oneFirst(
    sql.type(z.object({ n: z.number() }))`select coalesce(sum(refusals), 0)::int as n from webhook_refusal_counts`,
  );
  const refusedByServer = all.filter(([status]) => /^4/.test(status)).reduce((n, [, c]) => n + c, 0);
  t.true(
    counted >= refusedByServer - 10 && counted <= DELIVERIES,
    `${counted} counted, ${refusedByServer} 4xx answers`,
  );
  // The replayed delivery is recorded once; validly signed ones with an odd content type count too
  // (the signature proves their origin; each has its own event id).
  const oddTypes = statuses.get('wrong content type')?.get('200') ?? 0;
  t.is(
    await db.pool.oneFirst(sql.type(z.object({ n: z.number() }))`select count(*)::int as n from webhook_deliveries`),
    1 + oddTypes,
  );
});
