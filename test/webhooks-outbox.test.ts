// The outbox in SQL: events exist exactly when their cause committed, numbered per job, fanned out
// to the subscriptions that asked for them (a callback only for its jobs), and alerts become
// budget.alert / breaker.open events. No workers here: what is written and queued is the subject.
import test from 'ava';
import { sql } from 'slonik';
import { z } from 'zod';
import { createTestDatabase, type TestDatabase } from './helpers/database.ts';
import { insertJob, legalTransitions, walkTo, type Transition } from './helpers/jobs.ts';
import { advanceJob } from '../lib/jobs/advanceJob.ts';
import { addSubscription } from '../lib/outbox/addSubscription.ts';
import { linkJobToCallback } from '../lib/outbox/callbacks.ts';
import { EVENT_TYPES, JOB_EVENTS } from '../lib/outbox/eventTypes.ts';
import { WEBHOOK_PAYLOADS } from '../lib/outbox/payloads.ts';
import { raiseAlert } from '../lib/alerts/raiseAlert.ts';

let db: TestDatabase;
let transitions: Transition[];
test.before(async () => {
  db = await createTestDatabase();
  transitions = await legalTransitions(db.pool);
});
test.after.always(() => db?.drop());

const Event = z.object({ type: z.string(), sequence: z.number().nullable(), subscriptions: z.array(z.number()) });
const eventsFor = (jobId: string) =>
  db.pool.any(sql.type(Event)`
    select e.type, e.sequence, coalesce(array_agg(m.subscription_id::int order by m.subscription_id)
                                          filter (where m.id is not null), '{}') as subscriptions
    from webhook_events e left join webhook_messages m on m.event_id = e.id
    where e.job_id = ${jobId}::uuid group by e.id order by e.id`);
const add = (events: readonly string[], callback = false) =>
  addSubscription(db.pool, { url: 'http://127.0.0.1:9/hook', events, callback }, { allowPrivate: true });
const count = (table: string) =>
  db.pool.oneFirst(sql.type(z.object({ n: z.number() }))`select count(*)::int as n from ${sql.identifier([table])}`);

test.serial('the event types of SQL, of the code and of the documented payloads agree', async (t) => {
  const types = await db.pool.anyFirst(sql.type(z.object({ type: z.string() }))`
    select type from webhook_event_types where scope <> 'test' order by type`);
  t.deepEqual(types, [...EVENT_TYPES].sort());
  t.deepEqual(Object.keys(WEBHOOK_PAYLOADS).sort(), [...EVENT_TYPES, 'webhook.test'].sort());
});

test.serial('with nobody subscribed, moves write nothing to the outbox', async (t) => {
  const job = await insertJob(db.pool);
  await walkTo(db.pool, transitions, job.id, 'complete');
  t.is(await count('webhook_events'), 0);
});

test.serial('a move that rolls back writes no event and queues no delivery; one that commits does', async (t) => {
  const all = await add(EVENT_TYPES);
  const job = await insertJob(db.pool);
  const queued = () =>
    db.pool.oneFirst(sql.type(z.object({ n: z.number() }))`
      select count(*)::int as n from graphile_worker.jobs where task_identifier = 'webhook__deliver'`);
  const before = await queued();
  await t.throwsAsync(
    db.pool.transaction(async (tx) => {
      await advanceJob(tx, job.id, 'uploaded', 'parse_queued');
      throw new Error('the caller fails after the move');
    }),
  );
  t.deepEqual(await eventsFor(job.id), []);
  t.is(await queued(), before);
  await advanceJob(db.pool, job.id, 'uploaded', 'parse_queued');
  await advanceJob(db.pool, job.id, 'uploaded', 'parse_queued'); // already there: no move, no event
  t.deepEqual(await eventsFor(job.id), [{ type: 'job.state_changed', sequence: 1, subscriptions: [all.id] }]);
  t.is(await queued(), before + 1);
  await db.pool.query(sql.unsafe`delete from webhook_subscriptions`);
});

test.serial(
  'events are numbered per job and go to the subscriptions that asked; callbacks hear only their jobs',
  async (t) => {
    const every = await add(EVENT_TYPES);
    const outcomes = await add(['job.complete', 'job.failed']);
    const callback = await add(JOB_EVENTS, true);
    const mine = await insertJob(db.pool);
    const other = await insertJob(db.pool);
    await linkJobToCallback(db.pool, callback.id, mine.id);
    await walkTo(db.pool, transitions, mine.id, 'complete');
    await walkTo(db.pool, transitions, other.id, 'failed_chunking');
    const mineEvents = await eventsFor(mine.id);
    t.deepEqual(
      mineEvents.map((e) => e.sequence),
      mineEvents.map((_, i) => i + 1),
    );
    t.deepEqual(mineEvents.at(-1), {
      type: 'job.complete',
      sequence: 9,
      subscriptions: [every.id, outcomes.id, callback.id],
    });
    t.deepEqual(mineEvents[0]!.subscriptions, [every.id, callback.id]);
    const otherEvents = await eventsFor(other.id);
    t.deepEqual(otherEvents.at(-1), {
      type: 'job.failed',
      sequence: otherEvents.length,
      subscriptions: [every.id, outcomes.id],
    });
    t.true(otherEvents.every((e) => !e.subscriptions.includes(callback.id)));
    const failed = await db.pool.oneFirst(sql.type(z.object({ p: z.unknown() }))`
    select payload as p from webhook_events where job_id = ${other.id}::uuid and type = 'job.failed'`);
    t.like(failed as object, {
      type: 'job.failed',
      data: { job_id: other.id, state: 'failed_chunking', stage: 'chunk' },
    });
    t.true(WEBHOOK_PAYLOADS['job.failed'].safeParse(failed).success);
    // A disabled subscription gets nothing new.
    await db.pool.query(sql.unsafe`update webhook_subscriptions set enabled = false where id = ${every.id}`);
    const third = await insertJob(db.pool);
    await walkTo(db.pool, transitions, third.id, 'parse_queued');
    t.deepEqual(await eventsFor(third.id), []);
    await db.pool.query(sql.unsafe`delete from webhook_subscriptions`);
  },
);

test.serial('budget and breaker alerts become budget.alert and breaker.open events, once per alert', async (t) => {
  const budget = await add(['budget.alert']);
  const breaker = await add(['breaker.open']);
  await db.pool.query(sql.unsafe`insert into budgets (scope, period, limit_micro_usd) values ('all', 'day', 1000000)`);
  for (let i = 0; i < 2; i++)
    await db.pool.query(sql.unsafe`
      insert into cost_ledger (service, operation, units, unit, cost_micro_usd, estimated, correlation_id)
      values ('llamaparse', 'parse', 10, 'pages', 300000, false, 'seed')`);
  for (let i = 0; i < 3; i++)
    await raiseAlert(db.pool, {
      kind: 'breaker_open',
      dedupeKey: 'breaker:test',
      severity: 'critical',
      message: 'open',
    });
  await raiseAlert(db.pool, { kind: 'stuck_jobs', dedupeKey: 'stuck:test', severity: 'warning', message: 'stuck' });
  const rows = await db.pool.any(sql.type(
    z.object({ type: z.string(), subscription_id: z.number(), payload: z.any() }),
  )`
    select e.type, m.subscription_id::int, e.payload from webhook_events e join webhook_messages m on m.event_id = e.id
    where e.job_id is null order by e.id`);
  t.deepEqual(
    rows.map((r) => [r.type, r.subscription_id]),
    [
      ['budget.alert', budget.id],
      ['breaker.open', breaker.id],
    ],
  );
  t.like(rows[0]!.payload, { data: { kind: 'budget_threshold', severity: 'warning' } });
  for (const r of rows) t.true(WEBHOOK_PAYLOADS[r.type as 'budget.alert'].safeParse(r.payload).success);
});

test('subscriptions refuse unknown events, and callbacks refuse alert events, in SQL too', async (t) => {
  const error = await t.throwsAsync(
    db.pool.query(sql.unsafe`
      insert into webhook_subscriptions (url, events, secret, callback)
      values ('http://x.example/', '{budget.alert}', 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', true)`),
  );
  t.regex(error!.message, /unsubscribable webhook event\(s\): budget.alert/);
});
