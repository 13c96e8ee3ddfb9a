// Outbound webhooks end to end: real workers deliver the pipeline's events to a real receiver that
// verifies each one with the official standardwebhooks package. The receiver refuses, then goes
// down, then comes back: it receives everything, in order per job, retried deliveries keeping
// their webhook-id.
import test from 'ava';
import { sql } from 'slonik';
import { z } from 'zod';
import { createTestDatabase, type TestDatabase } from './helpers/database.ts';
import { ingest, testPipeline, waitForTerminal, type TestPipeline } from './helpers/pipeline.ts';
import { Receiver, until, type Received } from './helpers/receiver.ts';
import { addSubscription } from '../lib/outbox/addSubscription.ts';
import { EVENT_TYPES } from '../lib/outbox/eventTypes.ts';
import { WebhookPayload } from '../lib/outbox/payloads.ts';
import { minimalPdf } from '../lib/documents/minimalPdf.ts';
import { createMetrics } from '../lib/metrics/prometheus.ts';

let db: TestDatabase;
let pipeline: TestPipeline;
const receiver = new Receiver();
test.before(async () => {
  db = await createTestDatabase();
  pipeline = testPipeline(db, {
    TVDB_WEBHOOK_ALLOW_PRIVATE: 'true',
    TVDB_WEBHOOK_RETRY_BASE_MS: '200',
    TVDB_WEBHOOK_TIMEOUT_MS: '3000',
  });
  await receiver.start();
  const { secret } = await addSubscription(db.pool, { url: receiver.url, events: EVENT_TYPES }, { allowPrivate: true });
  receiver.verifyWith(secret);
  await pipeline.start();
});
test.after.always(async () => {
  await pipeline?.stop();
  await receiver.stop();
  await db?.drop();
});

const doc = (name: string) => ({ name, bytes: Buffer.from(`# ${name}\n\nSome text about ${name} to embed.`) });
const eventsOf = (jobId: string, from: Received[]) => from.filter((r) => r.payload.data.job_id === jobId);
const finished = (jobId: string) =>
  receiver.accepted().some((r) => r.payload.data.job_id === jobId && /^job\.(complete|failed)$/.test(r.payload.type));

/** The job's accepted deliveries: in sequence 1..n, each event once, every one verified. */
function assertInOrder(t: import('ava').ExecutionContext, jobId: string) {
  const accepted = eventsOf(jobId, receiver.accepted());
  const sequences = accepted.map((r) => r.payload.data.sequence as number);
  t.deepEqual(
    sequences,
    sequences.map((_, i) => i + 1),
    `job ${jobId}: sequences in arrival order`,
  );
  t.is(new Set(accepted.map((r) => r.webhookId)).size, accepted.length, 'each event accepted once');
  return accepted;
}

test.serial('every move reaches the receiver signed, verifiable, in order, ending with job.complete', async (t) => {
  const [result] = await ingest(pipeline.deps, [doc('first')]);
  if (!result?.ok) return t.fail('intake refused the document');
  await until('job.complete delivered', () => finished(result.jobId), 30_000);
  t.true(
    receiver.received.every((r) => r.verified),
    'standardwebhooks verified every delivery',
  );
  const accepted = assertInOrder(t, result.jobId);
  const moves = await db.pool.anyFirst(sql.type(z.object({ s: z.string() }))`
    select to_state::text as s from job_events where job_id = ${result.jobId}::uuid and kind = 'transition' order by id`);
  t.deepEqual(
    accepted.filter((r) => r.payload.type === 'job.state_changed').map((r) => r.payload.data.state),
    moves,
    'one job.state_changed per move, nothing else',
  );
  t.is(accepted.at(-1)!.payload.type, 'job.complete');
  for (const r of accepted)
    t.true(WebhookPayload.safeParse(r.payload).success, `payload ${r.payload.type} as documented`);
});

test.serial('a receiver that refuses, then is down, receives everything in order per job once back', async (t) => {
  receiver.answer = 503;
  const broken = minimalPdf([['fine']]).subarray(0, 200); // fails parsing for good: job.failed
  const results = await ingest(pipeline.deps, [
    doc('second'),
    doc('third'),
    doc('fourth'),
    { name: 'broken.pdf', bytes: broken },
  ]);
  const jobIds = results.map((r) => (r.ok ? r.jobId : t.fail('refused') && ''));
  // Refused deliveries pile up while the pipeline runs on: it does not wait for the receiver.
  await waitForTerminal(db.pool, jobIds, 30_000);
  await until('refused retries', () => receiver.received.filter((r) => r.answered === 503).length >= 8);
  await receiver.stop(); // now down: connections refused
  const downSince = Date.now();
  await until('failed connections in the log', async () =>
    db.pool.oneFirst(sql.type(z.object({ n: z.number() }))`
      select count(*)::int as n from webhook_delivery_log where outcome = 'unreachable'`),
  );
  await new Promise((r) => setTimeout(r, 3000));
  receiver.answer = 200;
  await receiver.start(); // back, same port
  const downMs = Date.now() - downSince;
  await until('every job finished at the receiver', () => jobIds.every(finished), 90_000);

  t.true(
    receiver.received.every((r) => r.verified),
    'every delivery, retried or not, verifies',
  );
  for (const id of jobIds) assertInOrder(t, id);
  const acceptedIds = new Set(receiver.accepted().map((r) => r.webhookId));
  const retried = receiver.received.filter((r) => r.answered === 503 && acceptedIds.has(r.webhookId));
  t.true(retried.length > 0, 'deliveries refused earlier were accepted later');
  for (const r of retried) {
    const later = receiver.accepted().find((a) => a.webhookId === r.webhookId)!;
    t.is(later.body, r.body, 'a retry carries the same webhook-id and body');
  }
  const failed = receiver.accepted().find((r) => r.payload.type === 'job.failed')!;
  t.is(failed.payload.data.job_id, jobIds[3]);
  t.regex(String(failed.payload.data.error), /corrupt or unreadable PDF/);
  t.is(failed.payload.data.stage, 'parse');
  const outcomes = await db.pool.anyFirst(sql.type(z.object({ o: z.string() }))`
    select distinct outcome as o from webhook_delivery_log order by 1`);
  t.deepEqual(outcomes, ['delivered', 'rejected', 'unreachable']);
  const pending = await db.pool.oneFirst(sql.type(z.object({ n: z.number() }))`
    select count(*)::int as n from webhook_messages where status <> 'delivered'`);
  t.is(pending, 0, 'nothing left undelivered');
  const metrics = await createMetrics(db.pool).render();
  t.regex(metrics, /^tvdb_webhook_out_attempts_total\{type="job\.complete",outcome="delivered"\} [1-9]/m);
  t.regex(metrics, /^tvdb_webhook_out_attempts_total\{type="job\.state_changed",outcome="rejected"\} [1-9]/m);
  t.regex(metrics, /^tvdb_webhook_out_messages_total\{type="job\.failed",outcome="delivered"\} 1$/m);
  t.regex(metrics, /^tvdb_webhook_out_pending_messages 0$/m);
  t.log(`receiver down ${downMs} ms; ${receiver.received.length} requests, ${receiver.accepted().length} accepted`);
});
