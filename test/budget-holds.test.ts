// Holds that follow reality (issue 15): concurrent reservers of one (job, stage), reservations that
// grow, calls paid but never written down (charged as estimated, never silently released), holds
// released when the stage gives up, and budget periods in UTC whatever the session's TimeZone.
import test from 'ava';
import { sql } from 'slonik';
import { z } from 'zod';
import { createTestDatabase } from './helpers/database.ts';
import { insertJob } from './helpers/jobs.ts';
import { cleanEnv, runTvdb } from './helpers/cli.ts';
import {
  beginPaidCall,
  clearPaidCall,
  expireReservations,
  recordCost,
  releaseReservation,
  reserveBudget,
} from '../lib/costs/budget.ts';

async function freshDb(t: import('ava').ExecutionContext) {
  const own = await createTestDatabase({ poolSize: 20 });
  t.teardown(() => own.drop());
  return own;
}

const Ledger = z.object({ operation: z.string(), cost: z.number(), estimated: z.boolean() });

test('concurrent reservers of the same (job, stage): one hold, never expired while fresh, the limit kept', async (t) => {
  const db = await freshDb(t);
  await db.pool.query(
    sql.unsafe`insert into budgets (scope, period, limit_micro_usd) values ('llamaparse', 'total', 10000)`,
  );
  const jobs = await Promise.all(Array.from({ length: 4 }, () => insertJob(db.pool)));
  for (let round = 0; round < 5; round++) {
    // Twenty reservers per job at once (4 jobs x 2,000: the budget has room for all four, once).
    const results = await Promise.all(
      jobs.flatMap((job) =>
        Array.from({ length: 20 }, () =>
          reserveBudget(db.pool, {
            jobId: job.id,
            stage: 'parse',
            service: 'llamaparse',
            amountMicroUsd: 2000,
            ttlS: 600,
          }),
        ),
      ),
    );
    t.true(
      results.every((r) => r.ok),
      'every reserver of a job gets its hold',
    );
    const ids = new Set(results.map((r) => (r.ok ? r.reservationId : -1)));
    t.is(ids.size, 4, 'one hold per (job, stage)');
  }
  const rows = await db.pool.any(sql.type(z.object({ status: z.string(), n: z.number() }))`
    select status, count(*)::int as n from budget_reservations group by status`);
  t.deepEqual(rows, [{ status: 'held', n: 4 }], 'no fresh hold was expired by a concurrent reserver');
  const remaining = await db.pool.oneFirst(sql.type(z.object({ r: z.number() }))`
    select remaining_micro_usd::int as r from budget_status`);
  t.is(remaining, 2000);
});

test('a reused reservation grows within the budget when more is needed, and is refused beyond it', async (t) => {
  const db = await freshDb(t);
  await db.pool.query(
    sql.unsafe`insert into budgets (scope, period, limit_micro_usd) values ('embeddings', 'day', 10000)`,
  );
  const job = await insertJob(db.pool);
  const reserve = (amount: number) =>
    reserveBudget(db.pool, { jobId: job.id, stage: 'embed', service: 'embeddings', amountMicroUsd: amount, ttlS: 600 });
  const first = await reserve(3000);
  t.true(first.ok);
  const grown = await reserve(7000);
  t.deepEqual(grown, first.ok ? { ok: true, reservationId: first.reservationId, reused: true } : grown);
  const status = () =>
    db.pool.one(sql.type(z.object({ reserved: z.number(), remaining: z.number() }))`
      select reserved_micro_usd::int as reserved, remaining_micro_usd::int as remaining from budget_status`);
  t.deepEqual(await status(), { reserved: 7000, remaining: 3000 });
  const refused = await reserve(11_000);
  t.false(refused.ok, 'growing past the limit is refused');
  t.regex((refused as { refusedBy: string }).refusedBy, /embeddings day budget/);
  t.deepEqual(await status(), { reserved: 7000, remaining: 3000 }, 'the hold stays as it was');
  t.true((await reserve(2000)).ok, 'a smaller need reuses the hold as it is');
  t.deepEqual(await status(), { reserved: 7000, remaining: 3000 });
});

test('a paid call never written down is charged as estimated: on takeover, at expiry, when the stage gives up', async (t) => {
  const db = await freshDb(t);
  await db.pool.query(sql.unsafe`insert into budgets (scope, period, limit_micro_usd) values ('all', 'total', 100000)`);
  const [a, b, c, d] = await Promise.all(Array.from({ length: 4 }, () => insertJob(db.pool)));
  const reserve = (jobId: string, ttlS = 600) =>
    reserveBudget(db.pool, { jobId, stage: 'embed', service: 'embeddings', amountMicroUsd: 5000, ttlS });
  const ledger = (jobId: string) =>
    db.pool.any(sql.type(Ledger)`
      select operation, cost_micro_usd::int as cost, estimated from cost_ledger where job_id = ${jobId}::uuid order by id`);
  const idOf = (r: Awaited<ReturnType<typeof reserve>>) => (r.ok ? r.reservationId : -1);

  // a: the call was answered and written down: nothing estimated, even when a new run takes over.
  const ra = idOf(await reserve(a!.id));
  await beginPaidCall(db.pool, ra, 1200, null);
  await recordCost(db.pool, {
    service: 'embeddings',
    operation: 'embed',
    units: 10,
    unit: 'tokens',
    costMicroUsd: 1100,
    estimated: false,
    jobId: a!.id,
    correlationId: null,
    externalId: null,
    reservationId: ra,
  });
  await reserve(a!.id);
  t.deepEqual(await ledger(a!.id), [{ operation: 'embed', cost: 1100, estimated: false }]);

  // b: the run died after starting a call; the next run takes the hold over: the call is charged.
  const rb = idOf(await reserve(b!.id));
  await beginPaidCall(db.pool, rb, 1200, null);
  t.is(idOf(await reserve(b!.id)), rb);
  t.deepEqual(await ledger(b!.id), [{ operation: 'unrecorded_call', cost: 1200, estimated: true }]);

  // c: nobody comes back; the hold expires: the call is charged, not silently released. Until
  // then the expired hold still holds what the call may have cost.
  const rc = idOf(await reserve(c!.id, 1));
  await beginPaidCall(db.pool, rc, 900, null);
  await new Promise((r) => setTimeout(r, 1200));
  const reserved = () =>
    db.pool.oneFirst(sql.type(z.object({ r: z.number() }))`select reserved_micro_usd::int as r from budget_status`);
  t.is(await reserved(), 5000 + 5000 + 900, 'a and b hold what their new runs need, c its pending call');
  t.is(await expireReservations(db.pool), 1);
  t.deepEqual(await ledger(c!.id), [{ operation: 'unrecorded_call', cost: 900, estimated: true }]);
  t.is(await reserved(), 5000 + 5000, 'charged: no longer held');

  // d: the stage gives up: released at once (its unanswered call charged).
  const rd = idOf(await reserve(d!.id));
  await beginPaidCall(db.pool, rd, 700, null);
  await releaseReservation(db.pool, d!.id, 'embed');
  t.deepEqual(await ledger(d!.id), [{ operation: 'unrecorded_call', cost: 700, estimated: true }]);
  const status = await db.pool.oneFirst(sql.type(z.object({ s: z.string() }))`
    select status as s from budget_reservations where id = ${rd}`);
  t.is(status, 'released');
  const notes = await db.pool.oneFirst(sql.type(z.object({ n: z.number() }))`
    select count(*)::int as n from job_events where detail ->> 'event' = 'unrecorded_call_charged'`);
  t.is(notes, 3, 'each charge is on its job history');
  // tvdb costs marks the estimated rows and says how much is estimated.
  const env = cleanEnv({ DATABASE_URL: db.url });
  const text = await runTvdb(['costs', '--by', 'operation'], env);
  t.is(text.code, 0, text.stderr);
  t.regex(text.stdout, /embeddings unrecorded_call\s+3\s+2800\s+\$0\.0028\*\s+\$0\.0028/);
  t.regex(text.stdout, /embeddings embed\s+1\s+10\s+\$0\.0011\s*\n/);
  t.regex(text.stdout, /total \$0\.0039 \(\* \$0\.0028 of it estimated\)/);
  const json = JSON.parse((await runTvdb(['costs', '--by', 'operation', '--json'], env)).stdout) as {
    rows: Array<{ key: string; estimated: boolean; estimated_micro_usd: number }>;
  };
  t.like(
    json.rows.find((r) => r.key === 'embeddings unrecorded_call'),
    { estimated: true, estimated_micro_usd: 2800 },
  );
});

test('sessions in three time zones see the same UTC day: a day budget is never broken', async (t) => {
  const db = await freshDb(t);
  await db.pool.query(
    sql.unsafe`insert into budgets (scope, period, limit_micro_usd) values ('llamaparse', 'day', 10000)`,
  );
  const job = await insertJob(db.pool);
  // 9,000 spent one second into today (UTC): in UTC+14 and UTC-11 the local day may start later.
  await db.ownerPool.query(sql.unsafe`
    insert into cost_ledger (at, service, operation, units, unit, cost_micro_usd, job_id)
    values (greatest(date_trunc('day', now(), 'UTC') + interval '1 second', now() - interval '1 hour'),
            'llamaparse', 'parse', 3000, 'credits', 9000, ${job.id}::uuid)`);
  const zones = ['Pacific/Kiritimati', 'Pacific/Pago_Pago', 'Asia/Kathmandu'];
  const others = await Promise.all(zones.map(() => insertJob(db.pool)));
  const results = await Promise.all(
    zones.map((zone, i) =>
      db.pool.transaction(async (tx) => {
        await tx.query(sql.unsafe`select set_config('TimeZone', ${zone}, true)`);
        const start = await tx.oneFirst(sql.type(z.object({ s: z.string() }))`
          select to_char(period_start at time zone 'UTC', 'YYYY-MM-DD HH24:MI') as s from budget_status`);
        const r = await reserveBudget(tx, {
          jobId: others[i]!.id,
          stage: 'parse',
          service: 'llamaparse',
          amountMicroUsd: 600,
          ttlS: 600,
        });
        return { start, ok: r.ok };
      }),
    ),
  );
  const today = await db.pool.oneFirst(sql.type(z.object({ s: z.string() }))`
    select to_char(date_trunc('day', now(), 'UTC') at time zone 'UTC', 'YYYY-MM-DD HH24:MI') as s`);
  t.deepEqual(
    results.map((r) => r.start),
    zones.map(() => today),
    'every session starts the day at UTC midnight',
  );
  t.is(results.filter((r) => r.ok).length, 1, 'room for one 600 hold in the 1,000 left');
  const spentAndHeld = await db.pool.oneFirst(sql.type(z.object({ s: z.number() }))`
    select (spent_micro_usd + reserved_micro_usd)::int as s from budget_status`);
  t.true(spentAndHeld <= 10000);
});

test('a run that lost its stage does not charge the pending call of the run that took over', async (t) => {
  const db = await freshDb(t);
  const job = await insertJob(db.pool);
  const lease = (token: number) =>
    db.ownerPool.query(sql.unsafe`
      insert into stage_leases (job_id, stage, token, owner, expires_at)
      values (${job.id}::uuid, 'embed', ${token}, 'test', now() + interval '1 minute')
      on conflict (job_id, stage) do update set token = excluded.token`);
  const reserve = (token: string) =>
    reserveBudget(db.pool, {
      jobId: job.id,
      stage: 'embed',
      service: 'embeddings',
      amountMicroUsd: 5000,
      ttlS: 600,
      leaseToken: token,
    });
  const estimated = () =>
    db.pool.oneFirst(sql.type(z.object({ n: z.number() }))`
      select count(*)::int as n from cost_ledger where estimated`);
  // Run 101 reserves, is frozen; run 102 takes the stage over and starts its call.
  await lease(101);
  const first = await reserve('101');
  await lease(102);
  const id = (r: Awaited<ReturnType<typeof reserve>>) => (r.ok ? r.reservationId : -1);
  const taken = await reserve('102');
  t.is(id(taken), id(first));
  await beginPaidCall(db.pool, id(taken), 1500, '102');
  // Run 101 thaws and reserves again: stale, it changes nothing.
  t.is(id(await reserve('101')), id(first));
  t.is(await estimated(), 0, "run 102's call is in its own hands");
  await clearPaidCall(db.pool, job.id, 'embed', '101');
  const pending = await db.pool.oneFirst(sql.type(z.object({ p: z.number() }))`
    select pending_call_micro_usd::int as p from budget_reservations`);
  t.is(pending, 1500, 'nor can it clear the newer run’s pending call');
  // Run 102 dies; run 103 takes over: now the call is charged.
  await lease(103);
  await reserve('103');
  t.is(await estimated(), 1);
});
