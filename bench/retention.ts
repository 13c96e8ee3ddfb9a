// npm run bench:retention: what the hourly prune costs. N (default 100,000) rows each of webhook
// events, messages, attempts, settled reservations (half named by the ledger, so kept) and alerts,
// all past the retention period; then the prune, then a run with nothing to do.
import { sql } from 'slonik';
import { createDatabasePool } from '../lib/db/database.ts';
import { pruneGrowingHistory } from '../lib/retention/pruneHistory.ts';
import { scratchDatabase } from './harness.ts';

const N = Number(process.env.N ?? 100_000);
const db = await scratchDatabase();
const pool = await createDatabasePool(db.url, 2);
try {
  const secret = 'whsec_' + Buffer.alloc(24, 1).toString('base64');
  await pool.query(sql.unsafe`insert into webhook_subscriptions (url, events, secret)
                              values ('https://hooks.example.com/x', '{job.complete}', ${secret})`);
  await pool.query(sql.unsafe`insert into webhook_events (type, payload, created_at)
    select 'webhook.test', '{}', now() - interval '40 days' from generate_series(1, ${N})`);
  await pool.query(sql.unsafe`insert into webhook_messages (subscription_id, event_id, line, status, created_at)
    select (select min(id) from webhook_subscriptions), id, 'l', 'delivered', created_at from webhook_events`);
  await pool.query(sql.unsafe`insert into webhook_attempts (message_id, attempt, at, outcome, latency_ms)
    select id, 1, created_at, 'delivered', 5 from webhook_messages`);
  await pool.query(sql.unsafe`insert into budget_reservations (request_id, stage, service, amount_micro_usd, status,
                                                               created_at, expires_at, settled_at)
    select gen_random_uuid(), 'search', 'embeddings', 1, 'settled', now() - interval '40 days',
           now() - interval '40 days', now() - interval '40 days' from generate_series(1, ${N})`);
  await pool.query(sql.unsafe`insert into cost_ledger (service, operation, units, unit, cost_micro_usd, reservation_id)
    select 'embeddings', 'embed_query', 1, 'tokens', 1, id from budget_reservations where id % 2 = 0`);
  await pool.query(sql.unsafe`insert into alerts (kind, dedupe_key, severity, message, last_seen_at)
    select 'bench', 'bench-' || g, 'info', 'm', now() - interval '40 days' from generate_series(1, ${N}) g`);
  let started = performance.now();
  const pruned = await pruneGrowingHistory(pool, 30);
  console.log(`prune of ${N} rows a table: ${Math.round(performance.now() - started)} ms`, pruned);
  started = performance.now();
  await pruneGrowingHistory(pool, 30);
  console.log(
    `next run, nothing to do (${N / 2} reservations kept by the ledger): ${Math.round(performance.now() - started)} ms`,
  );
} finally {
  await pool.end();
  await db.drop();
}
