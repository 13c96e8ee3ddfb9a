import test from 'ava';
import { createServer } from 'node:http';
import { sql } from 'slonik';
import { z } from 'zod';
import { createTestDatabase, type TestDatabase } from './helpers/database.ts';
import { insertJob } from './helpers/jobs.ts';
import { recordEmbeddingCost } from './helpers/costs.ts';
import { reserveBudget, recordCost, settleReservation, priceAt } from '../lib/costs/budget.ts';
import { formatUsd, parseUsd, tokenCostMicroUsd, llamaparseCostMicroUsd } from '../lib/costs/pricing.ts';
import { sqlState, SQLSTATE } from '../lib/jobs/advanceJob.ts';
import { testPipeline } from './helpers/pipeline.ts';
import { verifySignature } from '../lib/webhooks/signature.ts';

let db: TestDatabase;
test.before(async () => (db = await createTestDatabase({ poolSize: 20 })));
test.after.always(() => db?.drop());

const n = (q: ReturnType<typeof sql.unsafe>) => db.pool.oneFirst(q).then(Number);
// Budgets and the ledger are global state: each budget test gets a database of its own.
async function freshDb(t: import('ava').ExecutionContext) {
  const own = await createTestDatabase({ poolSize: 20 });
  t.teardown(() => own.drop());
  return own;
}

test('money arithmetic is exact integer micro-dollars', (t) => {
  t.is(tokenCostMicroUsd(1, 20_000), 1, 'rounds up: a token is never free');
  t.is(tokenCostMicroUsd(1_000_000, 20_000), 20_000);
  t.is(tokenCostMicroUsd(1_500_001, 20_000), 30_001);
  t.is(llamaparseCostMicroUsd(3 * 619, 1250), 2_321_250);
  t.is(parseUsd('0.50'), 500_000);
  t.is(parseUsd('$12'), 12_000_000);
  t.is(parseUsd('0.000001'), 1);
  t.throws(() => parseUsd('1.2.3'));
  t.throws(() => parseUsd('-1'));
  t.is(formatUsd(2_321_250), '$2.3212');
  t.throws(() => tokenCostMicroUsd(1.5, 10));
});

test('prices are data with effective dates: a new price is an insert, the old one stays for the past', async (t) => {
  t.is(await priceAt(db.pool, 'embeddings', 'text-embedding-3-small', 'micro_usd_per_1m_tokens'), 20_000);
  await db.ownerPool.query(sql.unsafe`insert into price_catalog (service, sku, unit, amount, effective_from, source)
    values ('embeddings', 'text-embedding-3-small', 'micro_usd_per_1m_tokens', 25000, now() + interval '1 day', 'test: future price')`);
  t.is(
    await priceAt(db.pool, 'embeddings', 'text-embedding-3-small', 'micro_usd_per_1m_tokens'),
    20_000,
    'not yet in force',
  );
  const future = await db.pool.oneFirst(sql.type(z.object({ p: z.bigint() }))`
    select price_at('embeddings', 'text-embedding-3-small', 'micro_usd_per_1m_tokens', now() + interval '2 days') as p`);
  t.is(future, 25_000n);
  t.is(await priceAt(db.pool, 'local', 'parser', 'micro_usd_per_page'), 0);
});

test('the ledger is append-only', async (t) => {
  const job = await insertJob(db.pool);
  await recordEmbeddingCost(db.pool, job.id, 10, 1, job.correlationId);
  for (const q of [sql.unsafe`update cost_ledger set cost_micro_usd = 0`, sql.unsafe`delete from cost_ledger`]) {
    t.is(sqlState(await t.throwsAsync(db.ownerPool.query(q))), SQLSTATE.appendOnly); // even to its owner
  }
});

test('50 concurrent reservations against a budget with room for exactly 10: exactly 10 succeed', async (t) => {
  const db = await freshDb(t);
  const n = (q: ReturnType<typeof sql.unsafe>) => db.pool.oneFirst(q).then(Number);
  const spentBefore = await n(
    sql.unsafe`select coalesce(sum(cost_micro_usd), 0) from cost_ledger where service = 'llamaparse'`,
  );
  await db.pool.query(
    sql.unsafe`insert into budgets (scope, period, limit_micro_usd) values ('llamaparse', 'total', ${10 * 1000})`,
  );
  const jobs = await Promise.all(Array.from({ length: 50 }, () => insertJob(db.pool)));
  const results = await Promise.all(
    jobs.map((job) =>
      reserveBudget(db.pool, { jobId: job.id, stage: 'parse', service: 'llamaparse', amountMicroUsd: 1000, ttlS: 600 }),
    ),
  );
  const granted = results.filter((r) => r.ok);
  t.is(granted.length, 10);
  t.regex(
    (results.find((r) => !r.ok) as { refusedBy: string }).refusedBy,
    /llamaparse total budget: 10000 of 10000 micro-USD spent or reserved, 1000 needed/,
  );
  // Settle five below their estimate and five above: the ledger holds the truth.
  for (const [i, r] of granted.entries()) {
    if (!r.ok) continue;
    await db.pool.transaction(async (tx) => {
      await recordCost(tx, {
        service: 'llamaparse',
        operation: 'parse',
        units: 1,
        unit: 'credits',
        costMicroUsd: i < 5 ? 600 : 1100,
        estimated: false,
        jobId: jobs[results.indexOf(r)]!.id,
        correlationId: null,
        externalId: null,
        reservationId: r.reservationId,
      });
      await settleReservation(tx, r.reservationId);
    });
  }
  const spent =
    (await n(sql.unsafe`select coalesce(sum(cost_micro_usd), 0) from cost_ledger where service = 'llamaparse'`)) -
    spentBefore;
  t.is(spent, 5 * 600 + 5 * 1100);
  const status = await db.pool.one(sql.type(z.object({ reserved: z.bigint(), remaining: z.bigint() }))`
    select reserved_micro_usd as reserved, remaining_micro_usd as remaining from budget_status where scope = 'llamaparse'`);
  t.is(status.reserved, 0n);
  t.is(status.remaining, BigInt(10_000 - spent));
  // With 1,500 left, one more reservation of 1,000 fits and a second does not, even concurrently.
  const more = await Promise.all(
    jobs.slice(10, 20).map((job) =>
      reserveBudget(db.pool, {
        jobId: job.id,
        stage: 'parse',
        service: 'llamaparse',
        amountMicroUsd: 1000,
        ttlS: 600,
      }),
    ),
  );
  t.is(more.filter((r) => r.ok).length, 1);
});

test('a retried stage reuses its reservation; an abandoned one expires and frees the budget', async (t) => {
  const db = await freshDb(t);
  const n = (q: ReturnType<typeof sql.unsafe>) => db.pool.oneFirst(q).then(Number);
  await db.pool.query(sql.unsafe`insert into budgets (scope, period, limit_micro_usd) values ('all', 'day', 5000)`);
  const job = await insertJob(db.pool);
  // 4,000 of the day's 5,000 for an embed stage, held for ttlS seconds.
  const reserve = (jobId: string, ttlS: number) =>
    reserveBudget(db.pool, { jobId, stage: 'embed', service: 'embeddings', amountMicroUsd: 4000, ttlS });
  const first = await reserve(job.id, 5);
  const again = await reserve(job.id, 5);
  t.true(first.ok && again.ok);
  t.deepEqual(again, { ok: true, reservationId: (first as { reservationId: number }).reservationId, reused: true });
  const other = await insertJob(db.pool);
  t.false((await reserve(other.id, 60)).ok);
  await new Promise((r) => setTimeout(r, 5200)); // the 5 s hold lapses
  t.true((await reserve(other.id, 60)).ok, 'the abandoned hold expired');
});

test('crossing 50%, 80% and 100% raises one alert each, once; the alert webhook is signed and verifiable', async (t) => {
  const db = await freshDb(t);
  const n = (q: ReturnType<typeof sql.unsafe>) => db.pool.oneFirst(q).then(Number);
  const received: Array<{ body: Buffer; headers: Record<string, string | string[] | undefined> }> = [];
  const hook = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req
      .on('data', (c) => chunks.push(c))
      .on('end', () => {
        received.push({ body: Buffer.concat(chunks), headers: req.headers });
        res.writeHead(204).end();
      });
  });
  await new Promise<void>((r) => hook.listen(0, '127.0.0.1', () => r()));
  t.teardown(() => new Promise((r) => hook.close(() => r(undefined))));
  const url = `http://127.0.0.1:${(hook.address() as { port: number }).port}/alerts`;
  await db.pool.query(
    sql.unsafe`insert into budgets (scope, period, limit_micro_usd) values ('embeddings', 'month', 10000)`,
  );
  const job = await insertJob(db.pool);
  const spend = (micro: number) => recordEmbeddingCost(db.pool, job.id, micro, micro);
  for (const step of [3000, 1000, 2000, 1000, 1000, 1000, 2000, 500]) await spend(step); // 30%, 40%, 60%, ... 115%
  const alerts = await db.pool.anyFirst(sql.type(z.object({ d: z.string() }))`
    select detail ->> 'threshold' as d from alerts where kind = 'budget_threshold' and detail ->> 'scope' = 'embeddings' order by id`);
  t.deepEqual(alerts, ['0.5', '0.8', '1.0']);
  const pipeline = testPipeline(db, { ALERT_WEBHOOK_URL: url, ALERT_WEBHOOK_SECRET: 'alert-secret' });
  await pipeline.start();
  t.teardown(() => pipeline.stop());
  for (let i = 0; i < 1200 && received.length < 3; i++) await new Promise((r) => setTimeout(r, 50));
  t.is(received.length, 3);
  for (const { body, headers } of received) {
    const signed = Buffer.from(`${headers['x-tvdb-timestamp']}.${body}`);
    t.true(verifySignature(signed, String(headers['x-tvdb-signature']), ['alert-secret']));
    t.true(Math.abs(Number(headers['x-tvdb-timestamp']) - Date.now() / 1000) < 60);
  }
  // The three alerts are delivered by parallel tasks: in any order. One of them is the critical one.
  const bodies = received.map((r) => JSON.parse(r.body.toString()) as { kind: string; severity: string });
  t.true(bodies.every((b) => b.kind === 'budget_threshold'));
  t.is(bodies.filter((b) => b.severity === 'critical').length, 1);
  let undelivered = -1;
  for (let i = 0; i < 400 && undelivered !== 0; i++) {
    undelivered = await n(sql.unsafe`select count(*) from alerts where delivered_at is null`);
    if (undelivered) await new Promise((r) => setTimeout(r, 50));
  }
  t.is(undelivered, 0, 'every alert is marked delivered');
});
