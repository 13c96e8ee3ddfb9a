// Group-committed webhook deliveries: deliveries arriving together are recorded in one statement
// (one transaction: they share its start time), and each is answered with its own outcome.
import test from 'ava';
import { sql } from 'slonik';
import { z } from 'zod';
import { createTestDatabase, type TestDatabase } from './helpers/database.ts';
import { testServer, jobAwaitingWebhook, envelope, deliver } from './helpers/server.ts';
import { insertJob } from './helpers/jobs.ts';

let db: TestDatabase;
let url: string;
let close: () => Promise<void>;
test.before(async () => {
  db = await createTestDatabase();
  // A wide window, so that the concurrent deliveries below certainly meet in a group.
  const started = await testServer(db.pool, {
    webhook: {
      secrets: ['whsec-current'],
      allowlist: undefined,
      maxBodyBytes: 2048,
      toleranceS: 300,
      refusalRowsPerMinute: 60,
      groupWindowMs: 50,
    },
  });
  url = started.url;
  close = () => started.server.close();
});
test.after.always(async () => {
  await close?.();
  await db?.drop();
});

test('concurrent deliveries grouped in one statement each get their own outcome', async (t) => {
  const jobs = await Promise.all(Array.from({ length: 8 }, () => jobAwaitingWebhook(db.pool)));
  // A job whose LlamaParse id is not stored yet (the upload's answer has not come back).
  const early = await insertJob(db.pool);
  const earlyToken = `tok${early.id.replace(/-/g, '')}`;
  await db.pool.query(sql.unsafe`update jobs set webhook_token = ${earlyToken} where id = ${early.id}::uuid`);
  type Case = { token: string; body: string; expect: { status: number; duplicate?: boolean } };
  const cases: Case[] = [];
  for (const job of jobs) {
    // Each job: one event delivered twice at once (one accepted, one duplicate), one other event.
    const repeated = JSON.stringify(envelope(job.lpJobId));
    cases.push({ token: job.token, body: repeated, expect: { status: 200 } });
    cases.push({ token: job.token, body: repeated, expect: { status: 200 } });
    cases.push({
      token: job.token,
      body: JSON.stringify(envelope(job.lpJobId, { event_type: 'parse.running' })),
      expect: { status: 200, duplicate: false },
    });
  }
  cases.push({ token: jobs[0]!.token, body: JSON.stringify(envelope('lp-someone-else')), expect: { status: 400 } });
  cases.push({ token: 'tokunknown0000', body: JSON.stringify(envelope('lp-x')), expect: { status: 404 } });
  cases.push({ token: earlyToken, body: JSON.stringify(envelope('lp-early')), expect: { status: 409 } });

  const answers = await Promise.all(cases.map((c) => deliver(url, c.token, c.body)));

  cases.forEach((c, i) => {
    t.is(answers[i]!.status, c.expect.status, `case ${i}`);
    if (c.expect.duplicate !== undefined) t.is(answers[i]!.body?.duplicate, c.expect.duplicate, `case ${i}`);
  });
  // The event sent twice: exactly one of its two answers says duplicate.
  for (let k = 0; k < jobs.length; k++) {
    const pair = [answers[3 * k]!, answers[3 * k + 1]!].map((a) => a.body?.duplicate);
    t.deepEqual([...pair].sort(), [false, true], `job ${k}`);
  }
  const stored = await db.pool.one(sql.type(
    z.object({ rows: z.number(), transactions: z.number(), collects: z.number() }),
  )`
    select count(*)::int as rows, count(distinct received_at)::int as transactions,
           (select count(*)::int from graphile_worker.jobs where key = any(${sql.array(
             jobs.map((j) => `collect:${j.id}`),
             'text',
           )})) as collects
    from webhook_deliveries where job_id = any(${sql.array(
      jobs.map((j) => j.id),
      'uuid',
    )})`);
  t.is(stored.rows, 2 * jobs.length, 'one row per distinct event');
  t.is(stored.collects, jobs.length, 'one collection per job, however many deliveries');
  t.true(
    stored.transactions < stored.rows,
    `deliveries shared transactions (${stored.transactions} for ${stored.rows})`,
  );
  // Refusals stay refusals: nothing stored for the unknown token or the early job.
  t.is(
    Number(
      await db.pool.oneFirst(sql.unsafe`select count(*)::int from webhook_deliveries where job_id = ${early.id}::uuid`),
    ),
    0,
  );
});

test('a delivery alone is answered without waiting for company', async (t) => {
  const job = await jobAwaitingWebhook(db.pool);
  const response = await deliver(url, job.token, JSON.stringify(envelope(job.lpJobId)));
  t.is(response.status, 200);
  t.deepEqual(response.body, { ok: true, duplicate: false });
});
