import test from 'ava';
import pg from 'pg';
import { sql } from 'slonik';
import { z } from 'zod';
import { createTestDatabase, TEST_APPLICATION_ROLE, type TestDatabase } from './helpers/database.ts';
import { insertJob, legalTransitions, walkTo, eventCount, jobState, type Transition } from './helpers/jobs.ts';
import { advanceJob, sqlState, SQLSTATE } from '../lib/jobs/advanceJob.ts';
import { JOB_STATES, HAPPY_PATH } from '../lib/jobs/stages.ts';
import { TopFailure } from '../lib/status/snapshot.ts';

let db: TestDatabase;
let transitions: Transition[];
test.before(async () => {
  db = await createTestDatabase();
  transitions = await legalTransitions(db.pool);
});
test.after.always(() => db?.drop());

const isLegal = (from: string, to: string) => transitions.some((t) => t.from_state === from && t.to_state === to);

test('the transition table holds exactly the seed path, the failure moves and the retry moves', (t) => {
  const pairs = transitions.map((x) => `${x.from_state}->${x.to_state}`).sort();
  t.deepEqual(pairs, [
    'chunking->chunks_stored',
    'chunking->failed_chunking',
    'chunks_stored->embedding_queued',
    'embedding_in_progress->embeddings_stored',
    'embedding_in_progress->failed_embedding',
    'embedding_queued->embedding_in_progress',
    'embedding_queued->failed_embedding',
    'embeddings_stored->complete',
    'failed_chunking->parsed',
    'failed_embedding->embedding_queued',
    'failed_parse->parse_queued',
    'parse_queued->failed_parse',
    'parse_queued->parsed',
    'parsed->chunking',
    'parsed->failed_chunking',
    'uploaded->parse_queued',
  ]);
});

test('every legal move succeeds and writes exactly one event', async (t) => {
  for (const move of transitions) {
    const job = await insertJob(db.pool);
    await walkTo(db.pool, transitions, job.id, move.from_state);
    const before = await eventCount(db.pool, job.id);
    t.is(await advanceJob(db.pool, job.id, move.from_state, move.to_state, { who: 'worker' }), 'moved');
    t.is(await jobState(db.pool, job.id), move.to_state);
    t.is(await eventCount(db.pool, job.id), before + 1, `${move.from_state} -> ${move.to_state}`);
    const last = await db.pool.one(sql.type(
      z.object({ from_state: z.string(), to_state: z.string(), correlation_id: z.string() }),
    )`
      select from_state::text, to_state::text, correlation_id from job_events where job_id = ${job.id}::uuid order by id desc limit 1`);
    t.deepEqual(last, { from_state: move.from_state, to_state: move.to_state, correlation_id: job.correlationId });
  }
});

test('every illegal pair of the 12 x 12 grid fails with TV001 and leaves no trace', async (t) => {
  let refused = 0;
  for (const from of JOB_STATES) {
    const job = await insertJob(db.pool);
    await walkTo(db.pool, transitions, job.id, from);
    const events = await eventCount(db.pool, job.id);
    for (const to of JOB_STATES) {
      if (to === from || isLegal(from, to)) continue;
      const error = await t.throwsAsync(
        // As the owner: the application role may not update jobs.state at all (advance_job only).
        db.ownerPool.transaction(async (tx) => {
          await tx.query(sql.unsafe`update jobs set last_error = 'touched' where id = ${job.id}::uuid`);
          await tx.query(sql.unsafe`update jobs set state = ${to}::job_state where id = ${job.id}::uuid`);
        }),
      );
      t.is(sqlState(error), SQLSTATE.illegalTransition, `${from} -> ${to}`);
      t.regex(
        String(error?.message ?? '') + String((error?.cause as Error | undefined)?.message ?? ''),
        new RegExp(`${from} -> ${to} for job ${job.id}`),
      );
      refused++;
    }
    t.is(await jobState(db.pool, job.id), from);
    t.is(await eventCount(db.pool, job.id), events);
    const touched = await db.pool.oneFirst(
      sql.type(z.object({ e: z.string().nullable() }))`select last_error as e from jobs where id = ${job.id}::uuid`,
    );
    t.is(touched, null, 'the whole transaction rolled back');
  }
  t.is(refused, 144 - 12 - transitions.length);
});

test('advance_job refuses a move through an illegal pair even when the job is in the from state', async (t) => {
  const job = await insertJob(db.pool);
  const error = await t.throwsAsync(advanceJob(db.pool, job.id, 'uploaded', 'complete'));
  t.is(sqlState(error), SQLSTATE.illegalTransition);
  t.is(await jobState(db.pool, job.id), 'uploaded');
});

test('a new job must start in uploaded', async (t) => {
  const job = await insertJob(db.pool);
  const error = await t.throwsAsync(
    db.pool.query(sql.unsafe`insert into jobs (document_id, file_name, correlation_id, state)
      select document_id, 'x', 'c', 'parsed' from jobs where id = ${job.id}::uuid`),
  );
  t.is(sqlState(error), SQLSTATE.illegalTransition);
});

test('repeating a move is a no-op that reports already_there and writes no second event', async (t) => {
  const job = await insertJob(db.pool);
  t.is(await advanceJob(db.pool, job.id, 'uploaded', 'parse_queued'), 'moved');
  const events = await eventCount(db.pool, job.id);
  t.is(await advanceJob(db.pool, job.id, 'uploaded', 'parse_queued'), 'already_there');
  t.is(await advanceJob(db.pool, job.id, 'uploaded', 'parse_queued'), 'already_there');
  t.is(await eventCount(db.pool, job.id), events);
});

test('a move from an unexpected state is refused with TV002; an unknown job with TV004', async (t) => {
  const job = await insertJob(db.pool);
  const error = await t.throwsAsync(advanceJob(db.pool, job.id, 'parsed', 'chunking'));
  t.is(sqlState(error), SQLSTATE.unexpectedState);
  t.is(await jobState(db.pool, job.id), 'uploaded');
  const unknown = await t.throwsAsync(
    advanceJob(db.pool, '00000000-0000-0000-0000-000000000000', 'uploaded', 'parse_queued'),
  );
  t.is(sqlState(unknown), SQLSTATE.unknownJob);
});

test('setting a job to the state it is in is not a move and writes no event', async (t) => {
  const job = await insertJob(db.pool);
  const events = await eventCount(db.pool, job.id);
  await db.ownerPool.query(sql.unsafe`update jobs set state = 'uploaded' where id = ${job.id}::uuid`);
  t.is(await eventCount(db.pool, job.id), events);
});

test('two transactions racing to make the same move: exactly one wins, one event exists', async (t) => {
  const job = await insertJob(db.pool);
  await advanceJob(db.pool, job.id, 'uploaded', 'parse_queued');
  const a = new pg.Client({ connectionString: db.url });
  const b = new pg.Client({ connectionString: db.url });
  await Promise.all([a.connect(), b.connect()]);
  try {
    const move = `select advance_job($1, 'parse_queued', 'parsed') as outcome`;
    await a.query('begin');
    await b.query('begin');
    const first = await a.query(move, [job.id]); // holds the row lock
    const second = b.query(move, [job.id]); // waits for a
    await new Promise((r) => setTimeout(r, 100));
    await a.query('commit');
    const secondResult = await second;
    await b.query('commit');
    t.deepEqual([first.rows[0].outcome, secondResult.rows[0].outcome], ['moved', 'already_there']);
  } finally {
    await Promise.all([a.end(), b.end()]);
  }
  const moves = await db.pool.oneFirst(sql.type(z.object({ n: z.number() }))`
    select count(*)::int as n from job_events where job_id = ${job.id}::uuid and to_state = 'parsed'`);
  t.is(moves, 1);
});

test('many concurrent callers of the same move: one moved, the rest already_there', async (t) => {
  const job = await insertJob(db.pool);
  const outcomes = await Promise.all(
    Array.from({ length: 5 }, () => db.pool.transaction((tx) => advanceJob(tx, job.id, 'uploaded', 'parse_queued'))),
  );
  t.is(outcomes.filter((o) => o === 'moved').length, 1);
  t.is(outcomes.filter((o) => o === 'already_there').length, 4);
  t.is(await eventCount(db.pool, job.id), 2); // created + one move
});

test('job_events refuses UPDATE, DELETE and TRUNCATE, even to its owner', async (t) => {
  const job = await insertJob(db.pool);
  for (const statement of [
    sql.unsafe`update job_events set detail = '{}' where job_id = ${job.id}::uuid`,
    sql.unsafe`delete from job_events where job_id = ${job.id}::uuid`,
    sql.unsafe`truncate job_events cascade`,
  ]) {
    const error = await t.throwsAsync(db.ownerPool.query(statement));
    t.is(sqlState(error), SQLSTATE.appendOnly);
  }
  t.is(await eventCount(db.pool, job.id), 1);
});

test('the full happy path produces the seed event sequence, with detail and correlation id on every event', async (t) => {
  const job = await insertJob(db.pool, { correlationId: 'corr-happy-path' });
  for (let i = 1; i < HAPPY_PATH.length; i++) {
    await advanceJob(db.pool, job.id, HAPPY_PATH[i - 1]!, HAPPY_PATH[i]!, { attempt: 1, who: 'worker' });
  }
  const events = await db.pool.any(sql.type(
    z.object({
      kind: z.string(),
      from_state: z.string().nullable(),
      to_state: z.string(),
      correlation_id: z.string(),
      detail: z.any(),
    }),
  )`
    select kind, from_state::text, to_state::text, correlation_id, detail from job_events where job_id = ${job.id}::uuid order by id`);
  t.deepEqual(
    events.map((e) => e.to_state),
    [...HAPPY_PATH],
  );
  t.deepEqual(
    events.map((e) => e.kind),
    ['created', ...Array(8).fill('transition')],
  );
  t.true(events.every((e) => e.correlation_id === 'corr-happy-path'));
  t.deepEqual(events[3]!.detail, { attempt: 1, who: 'worker', role: TEST_APPLICATION_ROLE.name });
  const timeline = await db.pool.any(sql.type(z.object({ state: z.string(), s: z.number() }))`
    select state::text, extract(epoch from time_in_state)::float8 as s from job_timeline where job_id = ${job.id}::uuid order by event_id`);
  t.is(timeline.length, 9);
  t.true(timeline.every((r) => r.s >= 0));
});

test('moving into a failed state records the error on the job and in the event', async (t) => {
  const job = await insertJob(db.pool);
  await advanceJob(db.pool, job.id, 'uploaded', 'parse_queued');
  await advanceJob(db.pool, job.id, 'parse_queued', 'failed_parse', { error: 'corrupt PDF: no xref table' });
  const row = await db.pool.one(
    sql.type(z.object({ last_error: z.string().nullable() }))`select last_error from jobs where id = ${job.id}::uuid`,
  );
  t.is(row.last_error, 'corrupt PDF: no xref table');
  t.is(await advanceJob(db.pool, job.id, 'failed_parse', 'parse_queued', { who: 'retry' }), 'moved');
});

test('pipeline_health counts jobs per state with the oldest age', async (t) => {
  const fresh = await createTestDatabase();
  try {
    const a = await insertJob(fresh.pool);
    await insertJob(fresh.pool);
    await advanceJob(fresh.pool, a.id, 'uploaded', 'parse_queued');
    const rows = await fresh.pool.any(sql.type(
      z.object({ state: z.string(), jobs: z.number(), has_age: z.boolean(), entered_last_5m: z.number() }),
    )`
      select state::text, jobs::int, oldest_age is not null as has_age, entered_last_5m::int from pipeline_health`);
    t.deepEqual(
      rows.map((r) => r.state),
      [...JOB_STATES],
    );
    const by = Object.fromEntries(rows.map((r) => [r.state, r]));
    t.is(by.uploaded!.jobs, 1);
    t.is(by.parse_queued!.jobs, 1);
    t.is(by.parse_queued!.entered_last_5m, 1);
    t.true(by.uploaded!.has_age);
    t.false(by.complete!.has_age);
  } finally {
    await fresh.drop();
  }
});

test('monitoring views: stage_latency, failure_summary and queue_depth answer from a known history', async (t) => {
  const fresh = await createTestDatabase();
  try {
    const job = await insertJob(fresh.pool);
    await advanceJob(fresh.pool, job.id, 'uploaded', 'parse_queued');
    await new Promise((r) => setTimeout(r, 120));
    await advanceJob(fresh.pool, job.id, 'parse_queued', 'failed_parse', {
      error: 'corrupt PDF',
      error_class: 'permanent',
    });
    await fresh.pool.query(
      sql.unsafe`select add_job_note(${job.id}::uuid, ${sql.jsonb({ event: 'attempt_failed', stage: 'parse', error_class: 'transient', error: 'HTTP 503' })})`,
    );
    await fresh.pool.query(sql.unsafe`select graphile_worker.add_job('job__parse', '{}'::json)`);
    const latency = await fresh.pool.one(sql.type(
      z.object({ state: z.string(), moves: z.number(), p50_s: z.number() }),
    )`
      select state::text, moves, p50_s::float8 from stage_latency where state = 'parse_queued'`);
    t.is(latency.moves, 1);
    t.true(latency.p50_s >= 0.1 && latency.p50_s < 5, String(latency.p50_s));
    const failures = await fresh.pool.any(sql.type(TopFailure)`
      select kind, stage, error_class, message, occurrences from failure_summary order by kind`);
    t.deepEqual(failures, [
      { kind: 'attempt_failed', stage: 'parse', error_class: 'transient', message: 'HTTP 503', occurrences: 1 },
      { kind: 'job_failed', stage: 'failed_parse', error_class: 'permanent', message: 'corrupt PDF', occurrences: 1 },
    ]);
    const queue = await fresh.pool.one(sql.type(
      z.object({ task: z.string(), waiting: z.number(), running: z.number() }),
    )`
      select task, waiting, running from queue_depth where task = 'job__parse'`);
    t.deepEqual(queue, { task: 'job__parse', waiting: 1, running: 0 });
  } finally {
    await fresh.drop();
  }
});
