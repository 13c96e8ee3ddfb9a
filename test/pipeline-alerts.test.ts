// Alerts raised by the pipeline itself: deduplicated per condition and window, counted, delivered
// once, signed.
import test from 'ava';
import { createServer } from 'node:http';
import { sql } from 'slonik';
import { z } from 'zod';
import { createTestDatabase } from './helpers/database.ts';
import { rows } from './helpers/history.ts';
import { insertJob } from './helpers/jobs.ts';
import { ingest, testPipeline, waitForTerminal } from './helpers/pipeline.ts';
import { verifySignature } from '../lib/webhooks/signature.ts';
import { advanceJob } from '../lib/jobs/advanceJob.ts';

async function awayFromWindowEdge(seconds = 30) {
  const intoWindow = (Date.now() / 1000) % 900;
  if (intoWindow > 900 - seconds) await new Promise((r) => setTimeout(r, (900 - intoWindow + 1) * 1000));
}

test('a storm of failing jobs raises one alert per failed state and window, counted, delivered once', async (t) => {
  await awayFromWindowEdge();
  const storm = await createTestDatabase();
  t.teardown(() => storm.drop());
  const jobs = await Promise.all(Array.from({ length: 30 }, () => insertJob(storm.pool)));
  for (const job of jobs) await advanceJob(storm.pool, job.id, 'uploaded', 'parse_queued');
  await Promise.all(
    jobs.map((job) =>
      storm.pool.query(
        sql.unsafe`select fail_job(${job.id}::uuid, 'failed_parse', ${sql.jsonb({ error: 'LlamaParse: ERROR_DURING_PROCESSING', error_class: 'permanent' })})`,
      ),
    ),
  );
  const alerts = await rows(
    storm,
    z.object({ kind: z.string(), dedupe_key: z.string(), occurrences: z.number(), message: z.string() }),
    `select kind, dedupe_key, occurrences, message from alerts`,
  );
  t.is(alerts.length, 1);
  t.like(alerts[0], { kind: 'job_failed', occurrences: 30 });
  t.regex(alerts[0]!.dedupe_key, /^job_failed:failed_parse:/);
  t.regex(alerts[0]!.message, /entered failed_parse: LlamaParse: ERROR_DURING_PROCESSING/);
  const deliveries = await storm.pool.oneFirst(
    sql.type(
      z.object({ n: z.number() }),
    )`select count(*)::int as n from graphile_worker.jobs where task_identifier = 'alert__deliver'`,
  );
  t.is(deliveries, 1);

  // Another condition (a different failed state) is another alert.
  const other = await insertJob(storm.pool);
  await advanceJob(storm.pool, other.id, 'uploaded', 'parse_queued');
  await advanceJob(storm.pool, other.id, 'parse_queued', 'parsed');
  await storm.pool.query(sql.unsafe`select fail_job(${other.id}::uuid, 'failed_chunking', '{"error": "no text"}')`);
  t.deepEqual(
    (
      await rows(
        storm,
        z.object({ kind: z.string(), occurrences: z.number() }),
        `select kind, occurrences from alerts order by id`,
      )
    ).map((a) => a.occurrences),
    [30, 1],
  );
});

// ---------------------------------------------------------------------------------------------
// Counters recorded by workers
test('jobs failing in the pipeline raise one job_failed alert, POSTed signed with a timestamp, logged', async (t) => {
  const received: Array<{ body: string; headers: Record<string, string | string[] | undefined> }> = [];
  const hook = createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      received.push({ body, headers: req.headers });
      res.end('ok');
    });
  });
  await new Promise<void>((r) => hook.listen(0, '127.0.0.1', () => r()));
  t.teardown(() => new Promise((r) => hook.close(() => r(undefined))));
  const work = await createTestDatabase();
  const pipeline = testPipeline(work, {
    ALERT_WEBHOOK_URL: `http://127.0.0.1:${(hook.address() as { port: number }).port}/alerts`,
    ALERT_WEBHOOK_SECRET: 'alert-secret',
  });
  t.teardown(async () => {
    await pipeline.stop();
    await work.drop();
  });
  await awayFromWindowEdge();
  await pipeline.start();
  const results = await ingest(
    pipeline.deps,
    [1, 2, 3].map((n) => ({
      name: `broken-${n}.pdf`,
      bytes: Buffer.from(`%PDF-1.4\n${n} this is not a PDF body\n%%EOF`),
    })),
  );
  const final = await waitForTerminal(
    work.pool,
    results.map((r) => (r.ok ? r.jobId : '')),
  );
  t.deepEqual(
    Object.values(final).map((j) => j.state),
    ['failed_parse', 'failed_parse', 'failed_parse'],
  );
  for (let i = 0; i < 200 && received.length < 1; i++) await new Promise((r) => setTimeout(r, 50));
  await new Promise((r) => setTimeout(r, 1000)); // time for any second POST to arrive
  t.is(received.length, 1, 'one POST for three failures');
  const { body, headers } = received[0]!;
  t.true(
    verifySignature(Buffer.from(`${headers['x-tvdb-timestamp']}.${body}`), String(headers['x-tvdb-signature']), [
      'alert-secret',
    ]),
  );
  t.like(JSON.parse(body), { kind: 'job_failed', severity: 'warning', detail: { state: 'failed_parse' } });
  const [alert] = await rows(
    work,
    z.object({ occurrences: z.number(), delivered: z.boolean() }),
    `select occurrences, delivered_at is not null as delivered from alerts`,
  );
  t.deepEqual(alert, { occurrences: 3, delivered: true });
  t.true(
    pipeline.logs.some((l) => l.msg === `ALERT: ${JSON.parse(body).message}`),
    'logged at its severity',
  );
});
