// The monitoring views on a database seeded with a known history (helpers/history.ts): every
// expected number is computed from the seed, not copied from an output.
import test from 'ava';
import { sql } from 'slonik';
import { z } from 'zod';
import type { TestDatabase } from './helpers/database.ts';
import {
  seededDatabase,
  SEED,
  moves,
  percentileCont,
  round3,
  PARSE_ERROR,
  RETRY_ERROR,
  rows,
} from './helpers/history.ts';
import { HAPPY_PATH } from '../lib/jobs/stages.ts';
import { TopFailure } from '../lib/status/snapshot.ts';

let db: TestDatabase;
test.before(async () => (db = await seededDatabase()));
test.after.always(() => db?.drop());

test.serial(
  'pipeline_health: jobs per state, the oldest age, and moves into each state over 5 and 60 minutes',
  async (t) => {
    const health = await rows(
      db,
      z.object({
        state: z.string(),
        jobs: z.number(),
        oldest_s: z.number().nullable(),
        in5: z.number(),
        in60: z.number(),
      }),
      `select state::text, jobs::int, extract(epoch from oldest_age)::float8 as oldest_s,
            entered_last_5m::int as in5, entered_last_60m::int as in60 from pipeline_health`,
    );
    t.deepEqual(
      health.map((r) => r.state),
      ['uploaded', ...HAPPY_PATH.slice(1), 'failed_parse', 'failed_chunking', 'failed_embedding'],
    );
    for (const row of health) {
      const inState = SEED.filter((j) => j.steps.at(-1)![0] === row.state);
      t.is(row.jobs, inState.length, `${row.state}: jobs`);
      if (inState.length) {
        const oldest = Math.max(...inState.map((j) => j.steps.at(-1)![1]));
        t.true(Math.abs(row.oldest_s! - oldest) < 10, `${row.state}: oldest ${row.oldest_s} s, seeded ${oldest} s`);
      } else t.is(row.oldest_s, null);
      t.is(row.in5, moves.filter((m) => m.to === row.state && m.ago < 300).length, `${row.state}: in 5 min`);
      t.is(row.in60, moves.filter((m) => m.to === row.state && m.ago < 3600).length, `${row.state}: in 60 min`);
    }
    t.is(health.find((r) => r.state === 'complete')!.jobs, 12);
  },
);

test.serial('stage_latency: p50/p95/p99/max of the time spent in each state over 24 hours', async (t) => {
  const latency = await rows(
    db,
    z.object({
      state: z.string(),
      moves: z.number(),
      p50: z.number(),
      p95: z.number(),
      p99: z.number(),
      max: z.number(),
    }),
    `select state::text, moves, p50_s::float8 as p50, p95_s::float8 as p95, p99_s::float8 as p99, max_s::float8 as max
     from stage_latency`,
  );
  const inWindow = moves.filter((m) => m.ago < 86400);
  const states = [...new Set(inWindow.map((m) => m.from))];
  t.deepEqual(
    latency.map((r) => r.state),
    HAPPY_PATH.filter((s) => states.includes(s)),
  );
  for (const row of latency) {
    const seconds = inWindow.filter((m) => m.from === row.state).map((m) => m.seconds);
    t.is(row.moves, seconds.length, row.state);
    t.is(row.p50, round3(percentileCont(seconds, 0.5)), `${row.state} p50`);
    t.is(row.p95, round3(percentileCont(seconds, 0.95)), `${row.state} p95`);
    t.is(row.p99, round3(percentileCont(seconds, 0.99)), `${row.state} p99`);
    t.is(row.max, Math.max(...seconds), `${row.state} max`);
  }
  // The job from two days ago (5000 s in parse_queued) is outside the window.
  t.true(latency.find((r) => r.state === 'parse_queued')!.max < 5000);
});

test.serial('failure_summary and stage_failure_rates: failed jobs, retried attempts, rates per stage', async (t) => {
  const summary = await rows(
    db,
    TopFailure,
    `select kind, stage, error_class, message, occurrences from failure_summary`,
  );
  t.deepEqual(
    [...summary].sort((a, b) => a.kind.localeCompare(b.kind)),
    [
      { kind: 'attempt_failed', stage: 'parse', error_class: 'transient', message: RETRY_ERROR, occurrences: 3 },
      { kind: 'job_failed', stage: 'failed_parse', error_class: 'permanent', message: PARSE_ERROR, occurrences: 2 },
    ],
  );
  const rates = await rows(
    db,
    z.object({ stage: z.string(), attempts: z.number(), failures: z.number(), failure_rate: z.number() }),
    `select stage, attempts, failures, failure_rate::float8 from stage_failure_rates(interval '15 minutes')`,
  );
  const recent = moves.filter((m) => m.ago < 900);
  const retried = SEED.flatMap((j) => j.notes ?? []).filter((n) => n.ago < 900).length;
  const expected = [
    ['chunk', 'chunks_stored', 'failed_chunking', 0],
    ['embed', 'embeddings_stored', 'failed_embedding', 0],
    ['parse', 'parsed', 'failed_parse', retried],
  ].map(([stage, done, failed, retries]) => {
    const ok = recent.filter((m) => m.to === done).length;
    const bad = recent.filter((m) => m.to === failed).length + Number(retries);
    const attempts = ok + bad;
    return {
      stage,
      attempts,
      failures: bad,
      failure_rate: attempts ? Math.round((bad / attempts) * 10000) / 10000 : 0,
    };
  });
  t.deepEqual(rates, expected);
  t.true(rates.find((r) => r.stage === 'parse')!.failure_rate > 0.5);
});

test.serial(
  'stuck_jobs lists the stranded jobs, and the alert evaluator raises one alert per condition and window',
  async (t) => {
    const stuck = await rows(db, z.object({ state: z.string() }), `select state::text from stuck_jobs`);
    t.deepEqual(
      stuck.map((r) => r.state),
      ['parse_queued', 'parse_queued', 'parse_queued'],
    );
    const evaluate = () =>
      db.pool.oneFirst(
        sql.type(z.object({ n: z.number() }))`select evaluate_pipeline_alerts(interval '15 minutes', 0.5, 5) as n`,
      );
    t.is(await evaluate(), 2); // parse failure rate, stuck jobs
    t.is(await evaluate(), 0); // the same conditions in the same window: no new alert
    t.is(await evaluate(), 0);
    const alerts = await rows(
      db,
      z.object({ kind: z.string(), severity: z.string(), message: z.string(), occurrences: z.number() }),
      `select kind, severity, message, occurrences from alerts order by kind`,
    );
    t.is(alerts.length, 2);
    t.like(alerts[0], { kind: 'stage_failure_rate', severity: 'critical', occurrences: 3 });
    t.regex(alerts[0]!.message, /^parse stage: 5 of 6 attempts failed/);
    t.like(alerts[1], { kind: 'stuck_jobs', severity: 'warning', occurrences: 3 });
    t.regex(alerts[1]!.message, /^3 job\(s\) stuck/);
    const deliveries = await db.pool.oneFirst(
      sql.type(
        z.object({ n: z.number() }),
      )`select count(*)::int as n from graphile_worker.jobs where task_identifier = 'alert__deliver'`,
    );
    t.is(deliveries, 2, 'one delivery per alert, not per evaluation');
    // A higher threshold: nothing to raise.
    t.is(
      await db.pool.oneFirst(
        sql.type(z.object({ n: z.number() }))`select evaluate_pipeline_alerts(interval '15 minutes', 0.9, 5) as n`,
      ),
      0,
    );
  },
);

// ---------------------------------------------------------------------------------------------
