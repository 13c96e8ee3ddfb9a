// Bounded history: webhook deliveries, refusal rows and refusal counts older than
// TVDB_RETENTION_DAYS are pruned (the history__prune task, hourly); metric shards fold into one row
// per series with the totals unchanged; refusals beyond the per-source bound are counted, not stored.
// Outgoing webhook events, messages and attempts, finished per-upload callbacks, settled budget
// reservations and alerts are pruned too, keeping what is still needed.
import test from 'ava';
import { sql } from 'slonik';
import { z } from 'zod';
import { createTestDatabase, type TestDatabase } from './helpers/database.ts';
import { jobAwaitingWebhook } from './helpers/server.ts';
import { compactMetricSeries, pruneGrowingHistory, pruneWebhookHistory } from '../lib/retention/pruneHistory.ts';
import { insertJob, legalTransitions, walkTo } from './helpers/jobs.ts';
import { recordRefusal } from '../lib/webhooks/recordDelivery.ts';
import { createDatabasePool } from '../lib/db/database.ts';

let db: TestDatabase;
test.before(async () => (db = await createTestDatabase()));
test.after.always(() => db?.drop());

const n = (query: ReturnType<typeof sql.unsafe>) => db.pool.oneFirst(query).then(Number);

test.serial('deliveries and refusals older than the retention are pruned; newer ones stay', async (t) => {
  const job = await jobAwaitingWebhook(db.pool);
  for (const [id, age] of [
    ['old-1', '40 days'],
    ['old-2', '31 days'],
    ['new-1', '29 days'],
  ] as const)
    await db.pool.query(sql.unsafe`
      insert into webhook_deliveries (event_id, event_type, llamaparse_job_id, job_id, correlation_id, known_event, received_at)
      values (${id}, 'parse.success', ${job.lpJobId}, ${job.id}::uuid, 'c', true, now() - ${age}::interval)`);
  await db.pool.query(sql.unsafe`
    insert into webhook_refusal_log (at, reason, http_status, source_address) values
      (now() - interval '45 days', 'bad_signature', 401, '203.0.113.1'), (now() - interval '1 day', 'bad_signature', 401, '203.0.113.1')`);
  await db.pool.query(sql.unsafe`
    insert into webhook_refusal_counts (minute, source, reason, http_status, refusals, stored) values
      (date_trunc('minute', now() - interval '45 days'), '203.0.113.1', 'bad_signature', 401, 7, 1)`);
  const deleted = await pruneWebhookHistory(db.pool, 30);
  t.is(deleted, 4);
  t.deepEqual(
    await db.pool.anyFirst(sql.type(z.object({ event_id: z.string() }))`select event_id from webhook_deliveries`),
    ['new-1'],
  );
  t.is(await n(sql.unsafe`select count(*) from webhook_refusal_log`), 1);
  t.is(await n(sql.unsafe`select count(*) from webhook_refusal_counts where minute < now() - interval '30 days'`), 0);
});

test.serial(
  'outgoing webhooks, callbacks, settled reservations and alerts are pruned; what is needed stays',
  async (t) => {
    const ids = (query: ReturnType<typeof sql.unsafe>) =>
      db.pool.anyFirst(query).then((rows) => rows.map(Number).sort((a, b) => a - b));
    const one = (query: ReturnType<typeof sql.unsafe>) => db.pool.oneFirst(query).then(Number);
    const transitions = await legalTransitions(db.pool);
    const done = await insertJob(db.pool);
    await walkTo(db.pool, transitions, done.id, 'complete');
    const recent = await insertJob(db.pool);
    await walkTo(db.pool, transitions, recent.id, 'complete');
    const running = await jobAwaitingWebhook(db.pool);
    // Backdated as the owner: the transition trigger stamps updated_at with the time of the update.
    await db.ownerPool.transaction(async (tx) => {
      await tx.query(sql.unsafe`set local session_replication_role = replica`);
      await tx.query(sql.unsafe`update jobs set updated_at = now() - interval '40 days'
                              where id in (${done.id}::uuid, ${running.id}::uuid)`);
    });
    const secret = 'whsec_' + Buffer.alloc(24, 7).toString('base64');
    const subscription = async (callback: boolean) =>
      one(sql.unsafe`insert into webhook_subscriptions (url, events, secret, callback, created_at)
                   values ('https://hooks.example.com/x', '{job.complete}', ${secret}, ${callback}, now() - interval '60 days')
                   returning id`);
    const standing = await subscription(false);
    const cbDone = await subscription(true); // its job finished 40 days ago: pruned
    const cbRunning = await subscription(true); // its job is still parsing: kept
    const cbRecent = await subscription(true); // its job finished today: kept
    for (const [cb, job] of [
      [cbDone, done.id],
      [cbRunning, running.id],
      [cbRecent, recent.id],
    ] as const)
      await db.pool.query(
        sql.unsafe`insert into webhook_subscription_jobs (job_id, subscription_id) values (${job}::uuid, ${cb})`,
      );
    const event = (job: string | null, sequence: number | null, age: string) =>
      one(sql.unsafe`insert into webhook_events (type, job_id, sequence, payload, created_at)
                   values (${job ? 'job.complete' : 'webhook.test'}, ${job}::uuid, ${sequence}, '{}', now() - ${age}::interval)
                   returning id`);
    const message = (sub: number, ev: number, status: string, age: string) =>
      one(sql.unsafe`insert into webhook_messages (subscription_id, event_id, line, status, created_at)
                   values (${sub}, ${ev}, 'l', ${status}, now() - ${age}::interval) returning id`);
    const attempt = (msg: number, age: string) =>
      db.pool.query(sql.unsafe`insert into webhook_attempts (message_id, attempt, at, outcome, latency_ms)
                             values (${msg}, 1, now() - ${age}::interval, 'rejected', 5)`);
    const doneFirst = await event(done.id, 101, '45 days'); // superseded by the job's next event: pruned
    const doneLast = await event(done.id, 102, '44 days'); // the job's newest: kept (sequence continues)
    const testOld = await event(null, null, '45 days'); // no message left: pruned
    const testPending = await event(null, null, '45 days'); // a pending message: kept
    const testNew = await event(null, null, '1 day');
    const delivered = await message(standing, testOld, 'delivered', '45 days');
    await attempt(delivered, '45 days');
    const failed = await message(standing, doneFirst, 'failed', '45 days');
    await attempt(failed, '45 days');
    const pending = await message(standing, testPending, 'pending', '45 days');
    await attempt(pending, '45 days');
    const fresh = await message(standing, testNew, 'delivered', '1 day');
    await attempt(fresh, '1 day');
    const cbMessage = await message(cbDone, doneLast, 'delivered', '44 days');

    // Reservations in id order: settled old, settled old named by the ledger, released old, held,
    // settled today. The held one stops the watermark: what comes after it waits for the next run.
    const reservation = (status: string, age: string) =>
      one(sql.unsafe`insert into budget_reservations (request_id, stage, service, amount_micro_usd, status, created_at, expires_at, settled_at)
                   values (gen_random_uuid(), 'search', 'embeddings', 10, ${status}, now() - ${age}::interval,
                           now() - ${age}::interval + interval '1 hour',
                           case when ${status} = 'held' then null else now() - ${age}::interval end)
                   returning id`);
    const settledOld = await reservation('settled', '40 days');
    const charged = await reservation('settled', '40 days');
    await db.pool
      .query(sql.unsafe`insert into cost_ledger (service, operation, units, unit, cost_micro_usd, reservation_id)
                                 values ('embeddings', 'embed_query', 3, 'tokens', 10, ${charged})`);
    const releasedOld = await reservation('released', '39 days');
    const held = await reservation('held', '0 days');
    const afterHeld = await reservation('settled', '38 days');
    const settledNew = await reservation('settled', '1 day');

    await db.pool
      .query(sql.unsafe`insert into alerts (kind, dedupe_key, severity, message, created_at, last_seen_at) values
    ('budget', 'retention-old', 'warning', 'old', now() - interval '50 days', now() - interval '40 days'),
    ('budget', 'retention-recurring', 'warning', 'recurring', now() - interval '50 days', now() - interval '1 day')`);

    const pruned = await pruneGrowingHistory(db.pool, 30, 2); // batches of 2: the loop goes on until done
    t.like(pruned, {
      webhook_attempts: 2,
      webhook_messages: 2, // and the pruned callback's message went with it
      webhook_events: 2,
      callback_subscriptions: 1,
      budget_reservations: 2,
      alerts: 1,
    });
    t.deepEqual(await ids(sql.unsafe`select id from webhook_events`), [doneLast, testPending, testNew]);
    t.deepEqual(await ids(sql.unsafe`select id from webhook_messages`), [pending, fresh]);
    t.is(await one(sql.unsafe`select count(*) from webhook_attempts where message_id = ${pending}`), 1);
    t.is(await one(sql.unsafe`select count(*) from webhook_attempts`), 2);
    t.deepEqual(await ids(sql.unsafe`select id from webhook_subscriptions`), [standing, cbRunning, cbRecent]);
    t.is(await one(sql.unsafe`select count(*) from webhook_subscription_jobs where job_id = ${done.id}::uuid`), 0);
    t.is(await one(sql.unsafe`select count(*) from webhook_messages where id = ${cbMessage}`), 0);
    t.deepEqual(await ids(sql.unsafe`select id from budget_reservations`), [charged, held, afterHeld, settledNew]);
    t.is(
      await one(sql.unsafe`select count(*) from cost_ledger where reservation_id = ${charged}`),
      1,
      'the ledger is whole',
    );
    t.deepEqual(await db.pool.anyFirst(sql.unsafe`select dedupe_key from alerts`), ['retention-recurring']);
    t.true(releasedOld > settledOld);

    // The next event of the job whose old events were pruned continues its sequence.
    await db.pool.query(sql.unsafe`select publish_webhook_event('job.complete', ${done.id}::uuid, '{}')`);
    t.is(await one(sql.unsafe`select max(sequence) from webhook_events where job_id = ${done.id}::uuid`), 103);

    // Once the held reservation settles (long ago), the next run passes it and what came after.
    await db.pool.query(
      sql.unsafe`update budget_reservations set status = 'settled', settled_at = now() - interval '35 days' where id = ${held}`,
    );
    t.like(await pruneGrowingHistory(db.pool, 30), { budget_reservations: 2 });
    t.deepEqual(await ids(sql.unsafe`select id from budget_reservations`), [charged, settledNew]);
    t.like(await pruneGrowingHistory(db.pool, 30), { budget_reservations: 0, webhook_events: 0, alerts: 0 });
    // Nothing left to do: one call says so (the task's loop stops at once).
    const idle = await db.pool.oneFirst(sql.unsafe`select prune_growing_history(now() - interval '30 days', 5000)`);
    t.true(
      Object.values(idle as Record<string, number>).every((n) => n === 0),
      JSON.stringify(idle),
    );
  },
);

test.serial('metric shards fold into one row per series; totals and buckets unchanged', async (t) => {
  // Several connections (backends) write: their rows land in several shards.
  const pools = await Promise.all([1, 2, 3, 4].map(() => createDatabasePool(db.url, 1)));
  try {
    for (const [i, pool] of pools.entries())
      for (let k = 0; k <= i; k++)
        await pool.query(
          sql.unsafe`select observe_metric('retention_test_seconds', '{"a":"b"}', ${k + 0.5}, array[1, 2]::float8[])`,
        );
  } finally {
    await Promise.all(pools.map((p) => p.end()));
  }
  const totals = () =>
    db.pool.one(sql.type(z.object({ count: z.number(), sum: z.number(), buckets: z.array(z.number()) }))`
      select count::int, sum, buckets::int[] from metric_totals where name = 'retention_test_seconds'`);
  const before = await totals();
  t.is(before.count, 10);
  await compactMetricSeries(db.pool);
  t.deepEqual(await totals(), before);
  t.is(await n(sql.unsafe`select count(*) from metric_series where name = 'retention_test_seconds'`), 1);
});

test.serial('refusals beyond the per-source bound are counted but not stored; sources are apart', async (t) => {
  for (let i = 0; i < 25; i++)
    await recordRefusal(db.pool, { reason: 'bad_signature', status: 401, address: '198.51.100.7' }, 10);
  await recordRefusal(db.pool, { reason: 'unknown_token', status: 404, address: '2001:db8::1' }, 10);
  await recordRefusal(db.pool, { reason: 'unknown_token', status: 404, address: '2001:db8::2' }, 1); // same /64
  t.is(await n(sql.unsafe`select count(*) from webhook_refusal_log where source_address = '198.51.100.7'`), 10);
  t.is(await n(sql.unsafe`select sum(refusals) from webhook_refusal_counts where source = '198.51.100.7'`), 25);
  t.is(await n(sql.unsafe`select count(*) from webhook_refusal_log where family(source_address) = 6`), 1);
  t.is(await n(sql.unsafe`select sum(refusals) from webhook_refusal_counts where source = '2001:db8::/64'`), 2);
  const view = await n(sql.unsafe`select refusals from webhook_refusals where reason = 'bad_signature'`);
  t.true(view >= 25, 'the view counts every refusal');
});

test('the retention task is in the task list, scheduled hourly', async (t) => {
  const { crontab } = await import('../tasks/history__prune.ts');
  t.regex(crontab, /^17 \* \* \* \* history__prune /);
});
