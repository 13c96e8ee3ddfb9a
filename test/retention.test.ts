// Bounded history: webhook deliveries, refusal rows and refusal counts older than
// TVDB_RETENTION_DAYS are pruned (the history__prune task, hourly); metric shards fold into one row
// per series with the totals unchanged; refusals beyond the per-source bound are counted, not stored.
import test from 'ava';
import { sql } from 'slonik';
import { z } from 'zod';
import { createTestDatabase, type TestDatabase } from './helpers/database.ts';
import { jobAwaitingWebhook } from './helpers/server.ts';
import { compactMetricSeries, pruneWebhookHistory } from '../lib/retention/pruneHistory.ts';
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
