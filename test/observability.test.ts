// The monitoring views, /metrics and the pipeline's own alerts, on a database seeded with a known
// history: every expected number is computed here from the seed, not copied from an output.
import test, { type ExecutionContext } from 'ava';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { parse as parseYaml } from 'yaml';
import { sql } from 'slonik';
import { z } from 'zod';
import { createTestDatabase, written, type TestDatabase } from './helpers/database.ts';
import { insertJob } from './helpers/jobs.ts';
import { ingest, llamaParseSetup, testPipeline, waitForTerminal } from './helpers/pipeline.ts';
import { verifySignature } from '../lib/webhooks/signature.ts';
import { minimalPdf } from '../lib/documents/minimalPdf.ts';
import { createMetrics } from '../lib/metrics/prometheus.ts';
import { deliver, envelope, jobAwaitingWebhook, testServer } from './helpers/server.ts';
import { advanceJob } from '../lib/jobs/advanceJob.ts';
import { HAPPY_PATH, type JobState } from '../lib/jobs/stages.ts';
import {
  exposedNames,
  officialParserMissing,
  parseExposition,
  promqlSelectors,
  sampleValue,
  type Family,
} from './helpers/prometheus.ts';

// ---------------------------------------------------------------------------------------------
// The seeded history. Times are seconds before the seeding transaction's now().
type Step = [state: JobState, enteredAgo: number];
type SeedJob = {
  steps: Step[];
  error?: string;
  notes?: Array<{ ago: number; detail: Record<string, unknown> }>;
};

/** A job along the happy path that starts `startAgo` s ago and spends durations[i] s in state i. */
function happyJob(startAgo: number, durations: number[], until = HAPPY_PATH.length): SeedJob {
  const steps: Step[] = [];
  let ago = startAgo;
  for (let i = 0; i < until; i++) {
    steps.push([HAPPY_PATH[i]!, ago]);
    ago -= durations[i] ?? 1;
  }
  return { steps };
}

const PARSE_ERROR = 'corrupt PDF: no xref table';
const RETRY_ERROR = 'HTTP 503 from LlamaParse';
const retryNote = (ago: number) => ({
  ago,
  detail: { event: 'attempt_failed', stage: 'parse', error_class: 'transient', error: RETRY_ERROR },
});

const SEED: SeedJob[] = [
  // Ten jobs completed 40-50 minutes ago, with distinct times in parse_queued and chunking.
  ...Array.from({ length: 10 }, (_, k) => happyJob(3000 - 60 * k, [1, 10 * (k + 1), 2, k + 1, 1, 1, 3, 1])),
  // One completed within the last 5 minutes.
  happyJob(200, [1, 20, 2, 5, 1, 1, 3, 1]),
  // One completed two days ago with a huge parse time: outside every window.
  happyJob(2 * 86400, [1, 5000, 2, 1, 1, 1, 3, 1]),
  // Two failed parses 10 minutes ago, after three retried attempts between them.
  {
    steps: [
      ['uploaded', 701],
      ['parse_queued', 700],
      ['failed_parse', 601],
    ],
    error: PARSE_ERROR,
    notes: [retryNote(660), retryNote(640)],
  },
  {
    steps: [
      ['uploaded', 702],
      ['parse_queued', 700],
      ['failed_parse', 602],
    ],
    error: PARSE_ERROR,
    notes: [retryNote(650)],
  },
  // Three jobs stranded in parse_queued for 34-36 minutes with no task queued.
  ...[1, 2, 3].map((s) => happyJob(2000 + 60 * s, [20], 2)),
];

async function seedHistory(db: TestDatabase, jobs: SeedJob[]) {
  await db.pool.transaction(async (tx) => {
    // History is written as it was, not re-enacted: triggers (and their clocks) stay out of it.
    await tx.query(sql.unsafe`set local session_replication_role = replica`);
    const content = Buffer.from(`seed ${randomUUID()}`);
    const documentId = await tx.oneFirst(sql.type(z.object({ id: z.number() }))`
      insert into documents (sha256, byte_size, media_type, content)
      values (sha256(${sql.binary(content)}), ${content.length}, 'application/pdf', ${sql.binary(content)})
      returning id::int`);
    for (const job of jobs) {
      const [lastState, lastAgo] = job.steps.at(-1)!;
      const correlationId = randomUUID();
      const jobId = await tx.oneFirst(sql.type(z.object({ id: z.string() }))`
        insert into jobs (document_id, file_name, correlation_id, state, state_changed_at, last_error, created_at)
        values (${documentId}, 'seed.pdf', ${correlationId}, ${lastState}::job_state, now() - make_interval(secs => ${lastAgo}),
                ${job.error ?? null}, now() - make_interval(secs => ${job.steps[0]![1]}))
        returning id::text`);
      for (const [i, [state, ago]] of job.steps.entries()) {
        const previous = job.steps[i - 1];
        const detail = state.startsWith('failed_') ? { error: job.error, error_class: 'permanent' } : {};
        await tx.query(sql.unsafe`
          insert into job_events (job_id, kind, from_state, to_state, correlation_id, detail, at, seconds_in_from_state)
          values (${jobId}::uuid, ${previous ? 'transition' : 'created'}, ${previous?.[0] ?? null}::job_state, ${state}::job_state,
                  ${correlationId}, ${sql.jsonb(detail as never)}, now() - make_interval(secs => ${ago}),
                  ${previous ? previous[1] - ago : null})`);
      }
      for (const note of job.notes ?? [])
        await tx.query(sql.unsafe`
          insert into job_events (job_id, kind, from_state, to_state, correlation_id, detail, at)
          values (${jobId}::uuid, 'note', null, ${lastState}::job_state, ${correlationId}, ${sql.jsonb(note.detail as never)},
                  now() - make_interval(secs => ${note.ago}))`);
    }
  });
}

/** Moves in the seed (ago = when the job left from_state). */
const moves = SEED.flatMap((job) =>
  job.steps.slice(1).map(([to, ago], i) => ({ from: job.steps[i]![0], to, ago, seconds: job.steps[i]![1] - ago })),
);

/** percentile_cont: linear interpolation between the closest ranks. */
function percentileCont(values: number[], p: number) {
  const v = [...values].sort((a, b) => a - b);
  const pos = p * (v.length - 1);
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return v[lo]! + (v[hi]! - v[lo]!) * (pos - lo);
}
const round3 = (x: number) => Math.round(x * 1000) / 1000;

// ---------------------------------------------------------------------------------------------

let db: TestDatabase;
test.before(async () => {
  db = await createTestDatabase();
  await seedHistory(db, SEED);
});
test.after.always(async () => {
  await db?.drop();
});

/** A query written out in full, its rows checked by `type`. */
async function rows<T extends z.ZodTypeAny>(on: TestDatabase, type: T, query: string): Promise<Array<z.infer<T>>> {
  return [...(await on.pool.any(sql.type(type)(written(query))))] as Array<z.infer<T>>;
}

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
    z.object({
      kind: z.string(),
      stage: z.string(),
      error_class: z.string(),
      message: z.string(),
      occurrences: z.number(),
    }),
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
// /metrics

const skipWithoutParser = (t: ExecutionContext) => {
  const missing = officialParserMissing();
  if (missing) t.log(`SKIPPED: ${missing}`);
  return missing !== undefined;
};

async function scrape(url: string, headers: Record<string, string> = {}) {
  const response = await fetch(`${url}/metrics`, { headers });
  return { status: response.status, type: response.headers.get('content-type'), text: await response.text() };
}

test.serial(
  '/metrics parses as Prometheus text and its gauges, counters and histograms agree with the database',
  async (t) => {
    if (skipWithoutParser(t)) {
      t.pass();
      return;
    }
    // More history, made by the real code paths this time (triggers on): budgets and spend, an open
    // breaker, queued tasks, webhook deliveries and two jobs moving.
    await db.pool.query(
      sql.unsafe`insert into budgets (scope, period, limit_micro_usd) values ('all', 'day', 1000000)`,
    );
    await db.pool.query(sql.unsafe`
    insert into cost_ledger (service, operation, units, unit, cost_micro_usd, estimated, correlation_id)
    values ('llamaparse', 'parse', 10, 'pages', 250000, false, 'seed')`);
    await db.pool.query(
      sql.unsafe`update circuit_breakers set state = 'open', opened_at = now(), consecutive_failures = 5 where service = 'embeddings'`,
    );
    await db.pool.query(
      sql.unsafe`select graphile_worker.add_job('job__chunk', '{}'::json, run_at => now() + interval '1 hour') from generate_series(1, 2)`,
    );
    const moved = [await insertJob(db.pool), await insertJob(db.pool)];
    for (const job of moved) {
      await new Promise((r) => setTimeout(r, 30));
      await advanceJob(db.pool, job.id, 'uploaded', 'parse_queued');
      await advanceJob(db.pool, job.id, 'parse_queued', 'parsed');
    }
    const { server, url } = await testServer(db.pool);
    t.teardown(() => server.close());
    const waiting = await jobAwaitingWebhook(db.pool);
    const body = JSON.stringify(envelope(waiting.lpJobId));
    t.is((await deliver(url, waiting.token, body)).status, 200);
    t.is((await deliver(url, waiting.token, body)).status, 200); // the same event again: a duplicate
    t.is((await deliver(url, waiting.token, body, { secret: 'not-the-secret' })).status, 401);
    t.is((await deliver(url, 'tok-nobody', JSON.stringify(envelope('lp-x')))).status, 404);

    // A refusal is answered first and recorded right after.
    for (let i = 0; i < 100; i++) {
      const [{ n }] = await rows(db, z.object({ n: z.number() }), `select count(*)::int as n from webhook_refusal_log`);
      if (n === 2) break;
      await new Promise((r) => setTimeout(r, 20));
    }

    const res = await scrape(url);
    t.is(res.status, 200);
    t.regex(res.type!, /^text\/plain; version=0\.0\.4/);
    const families = parseExposition(res.text);
    const value = (name: string, labels: Record<string, string> = {}) => sampleValue(families, name, labels);

    // Gauges read from the views.
    const health = await rows(
      db,
      z.object({ state: z.string(), jobs: z.number(), oldest_s: z.number().nullable() }),
      `select state::text, jobs::int, extract(epoch from oldest_age)::float8 as oldest_s from pipeline_health`,
    );
    for (const r of health) {
      t.is(value('tvdb_jobs', { state: r.state }), r.jobs, `tvdb_jobs{state=${r.state}}`);
      const age = value('tvdb_job_oldest_age_seconds', { state: r.state });
      if (r.oldest_s === null) t.is(age as number | undefined, undefined);
      else t.true(Math.abs(age! - r.oldest_s) < 5, `${r.state} oldest age`);
    }
    t.is(value('tvdb_stuck_jobs', { state: 'parse_queued' }), 3);
    const queue = await rows(
      db,
      z.object({
        task: z.string(),
        waiting: z.number(),
        scheduled: z.number(),
        running: z.number(),
        retrying: z.number(),
        failed: z.number(),
      }),
      `select * from queue_depth`,
    );
    t.true(queue.length > 0);
    for (const q of queue)
      for (const status of ['waiting', 'scheduled', 'running', 'retrying', 'failed'] as const)
        t.is(value('tvdb_queue_jobs', { task: q.task, status }), q[status], `${q.task} ${status}`);
    t.is(value('tvdb_queue_jobs', { task: 'job__chunk', status: 'scheduled' }), 2);
    const budget = { budget_id: '1', scope: 'all', period: 'day' };
    t.is(value('tvdb_budget_limit_micro_usd', budget), 1000000);
    t.is(value('tvdb_budget_spent_micro_usd', budget), 250000);
    t.is(value('tvdb_budget_remaining_micro_usd', budget), 750000);
    t.is(value('tvdb_budget_used_ratio', budget), 0.25);
    t.is(value('tvdb_cost_micro_usd_total', { service: 'llamaparse' }), 250000);
    t.is(value('tvdb_circuit_breaker_state', { service: 'embeddings' }), 2);
    t.is(value('tvdb_circuit_breaker_state', { service: 'llamaparse' }), 0);
    const rates = await rows(
      db,
      z.object({ stage: z.string(), failure_rate: z.number() }),
      `select stage, failure_rate::float8 from stage_failure_rates(interval '15 minutes')`,
    );
    for (const r of rates) t.is(value('tvdb_stage_failure_ratio', { stage: r.stage }), r.failure_rate, r.stage);

    // The stage-duration histogram counts the real moves (not the seeded history, written with the
    // triggers off), with the seconds job_events recorded for them.
    const spans = await rows(
      db,
      z.object({ state: z.string(), n: z.number(), total: z.number() }),
      `select from_state::text as state, count(*)::int as n, sum(seconds_in_from_state) as total
     from job_events e join jobs j on j.id = e.job_id
     where e.kind = 'transition' and j.file_name <> 'seed.pdf' group by 1`,
    );
    t.deepEqual(spans.map((s) => s.state).sort(), ['parse_queued', 'uploaded']);
    for (const s of spans) {
      t.is(value('tvdb_stage_duration_seconds_count', { state: s.state }), s.n);
      t.true(Math.abs(value('tvdb_stage_duration_seconds_sum', { state: s.state })! - s.total) < 1e-6);
      const buckets = families
        .find((f) => f.name === 'tvdb_stage_duration_seconds')!
        .samples.filter((x) => x.name.endsWith('_bucket') && x.labels.state === s.state);
      const counts = buckets.map((b) => b.value);
      t.deepEqual(
        counts,
        [...counts].sort((a, b) => a - b),
        'buckets are cumulative',
      );
      t.is(buckets.find((b) => b.labels.le === '+Inf')!.value, s.n);
    }

    // Webhook deliveries by outcome, and the refusals view agrees.
    t.is(value('tvdb_webhook_deliveries_total', { outcome: 'accepted' }), 1);
    t.is(value('tvdb_webhook_deliveries_total', { outcome: 'duplicate' }), 1);
    t.is(value('tvdb_webhook_deliveries_total', { outcome: 'refused', reason: 'bad_signature' }), 1);
    t.is(value('tvdb_webhook_deliveries_total', { outcome: 'refused', reason: 'unknown_token' }), 1);
    const refusals = await rows(
      db,
      z.object({ reason: z.string(), n: z.number() }),
      `select reason, sum(refusals)::int as n from webhook_refusals group by reason`,
    );
    for (const r of refusals)
      t.is(value('tvdb_webhook_deliveries_total', { outcome: 'refused', reason: r.reason }), r.n);
    t.is(value('tvdb_alerts_total', { kind: 'stuck_jobs', severity: 'warning' }), 1);

    // Small label sets: no job ids, no correlation ids, a bounded number of series per family.
    const uuid = /[0-9a-f]{8}-[0-9a-f]{4}-/i;
    for (const family of families.filter((f) => f.name.startsWith('tvdb_') && !f.name.startsWith('tvdb_server_'))) {
      t.true(family.help.length > 10, `${family.name} has help`);
      for (const s of family.samples)
        t.false(
          Object.values(s.labels).some((v) => uuid.test(v)),
          `${s.name} labels`,
        );
      t.true(family.samples.length < 400, `${family.name}: ${family.samples.length} samples`);
    }
  },
);

test.serial('/metrics asks for the API token when one is configured', async (t) => {
  const token = 'metrics-token-0123456789';
  const { server, url } = await testServer(db.pool, { apiToken: token });
  t.teardown(() => server.close());
  t.is((await scrape(url)).status, 401);
  t.is((await scrape(url, { authorization: 'Bearer wrong-token-0123456789' })).status, 401);
  const ok = await scrape(url, { authorization: `Bearer ${token}` });
  t.is(ok.status, 200);
  t.regex(ok.text, /^tvdb_jobs\{state="complete"\} \d+$/m);
});

test.serial(
  'every alert rule and dashboard query parses as PromQL and selects only series /metrics exposes',
  async (t) => {
    if (skipWithoutParser(t)) {
      t.pass();
      return;
    }
    const { server, url } = await testServer(db.pool);
    t.teardown(() => server.close());
    const families: Family[] = parseExposition((await scrape(url)).text);
    const exposed = new Map<string, Set<string>>();
    for (const family of families)
      for (const name of exposedNames(family)) {
        const labels = new Set<string>();
        for (const s of family.samples.filter((x) => x.name === name))
          for (const l of Object.keys(s.labels)) labels.add(l);
        exposed.set(name, labels);
      }
    // `up` is Prometheus's own series about the scrape; `job` its target label.
    exposed.set('up', new Set(['job', 'instance']));

    const rules = parseYaml(readFileSync(new URL('../ops/prometheus/alerts.yml', import.meta.url), 'utf8'));
    const dashboard = JSON.parse(
      readFileSync(new URL('../ops/grafana/dashboards/tvdb-pipeline.json', import.meta.url), 'utf8'),
    );
    const expressions: Array<[where: string, expr: string]> = [
      ...rules.groups.flatMap((g: { rules: Array<{ alert: string; expr: string }> }) =>
        g.rules.map((r) => [`rule ${r.alert}`, r.expr]),
      ),
      ...dashboard.panels.flatMap((p: { title: string; targets?: Array<{ expr: string }> }) =>
        (p.targets ?? []).map((target) => [`panel "${p.title}"`, target.expr]),
      ),
    ];
    t.true(expressions.length > 20);
    const used = new Set<string>();
    for (const [where, expr] of expressions) {
      const { errors, selectors } = promqlSelectors(expr);
      t.deepEqual(errors, [], `${where}: ${expr}`);
      t.true(selectors.length > 0, `${where} selects something`);
      for (const selector of selectors) {
        used.add(selector.metric);
        const labels = exposed.get(selector.metric);
        t.truthy(labels, `${where}: ${selector.metric} is exposed by /metrics`);
        // Label names can only be checked where the database gave the family samples.
        if (labels?.size)
          for (const label of selector.labels)
            t.true(labels.has(label), `${where}: ${selector.metric} has a label "${label}"`);
      }
    }
    // The rules cover what the issue asks for.
    const alertNames = rules.groups.flatMap((g: { rules: Array<{ alert: string }> }) => g.rules.map((r) => r.alert));
    for (const name of [
      'TvdbStageFailureRateHigh',
      'TvdbStuckJobs',
      'TvdbCircuitBreakerOpen',
      'TvdbBudgetAboveThreshold',
      'TvdbNoProgress',
    ])
      t.true(alertNames.includes(name), name);
    for (const g of rules.groups)
      for (const r of g.rules) {
        t.truthy(r.labels?.severity, `${r.alert} has a severity`);
        t.truthy(r.annotations?.summary, `${r.alert} has a summary`);
      }
    t.true(used.has('tvdb_stage_duration_seconds_bucket') && used.has('tvdb_budget_used_ratio'));
  },
);

// ---------------------------------------------------------------------------------------------
// Alerts from the pipeline itself

/** Job failures are deduplicated per quarter hour: start a storm well inside one. */
async function awayFromWindowEdge(seconds = 30) {
  const intoWindow = (Date.now() / 1000) % 900;
  if (intoWindow > 900 - seconds) await new Promise((r) => setTimeout(r, (900 - intoWindow + 1) * 1000));
}

test('a storm of failing jobs raises one alert per failed state and window, counted, delivered once', async (t) => {
  await awayFromWindowEdge();
  const storm = await createTestDatabase();
  t.teardown(() => storm.drop());
  const jobs = await Promise.all(Array.from({ length: 30 }, () => insertJob(storm.pool)));
  for (const job of jobs) await advanceJob(storm.pool, job.id, 'uploaded', 'parse_queued');
  await Promise.all(
    jobs.map((job) =>
      storm.pool.query(
        sql.unsafe`select fail_job(${job.id}::uuid, 'failed_parse', ${sql.jsonb({ error: 'LlamaParse: ERROR_DURING_PROCESSING', error_class: 'permanent' })})`,
      ),
    ),
  );
  const alerts = await rows(
    storm,
    z.object({ kind: z.string(), dedupe_key: z.string(), occurrences: z.number(), message: z.string() }),
    `select kind, dedupe_key, occurrences, message from alerts`,
  );
  t.is(alerts.length, 1);
  t.like(alerts[0], { kind: 'job_failed', occurrences: 30 });
  t.regex(alerts[0]!.dedupe_key, /^job_failed:failed_parse:/);
  t.regex(alerts[0]!.message, /entered failed_parse: LlamaParse: ERROR_DURING_PROCESSING/);
  const deliveries = await storm.pool.oneFirst(
    sql.type(
      z.object({ n: z.number() }),
    )`select count(*)::int as n from graphile_worker.jobs where task_identifier = 'alert__deliver'`,
  );
  t.is(deliveries, 1);

  // Another condition (a different failed state) is another alert.
  const other = await insertJob(storm.pool);
  await advanceJob(storm.pool, other.id, 'uploaded', 'parse_queued');
  await advanceJob(storm.pool, other.id, 'parse_queued', 'parsed');
  await storm.pool.query(sql.unsafe`select fail_job(${other.id}::uuid, 'failed_chunking', '{"error": "no text"}')`);
  t.deepEqual(
    (
      await rows(
        storm,
        z.object({ kind: z.string(), occurrences: z.number() }),
        `select kind, occurrences from alerts order by id`,
      )
    ).map((a) => a.occurrences),
    [30, 1],
  );
});

// ---------------------------------------------------------------------------------------------
// Counters recorded by workers

test('workers count their external calls and stage attempts in Postgres, as /metrics shows them', async (t) => {
  const {
    db: work,
    llama,
    pipeline,
  } = await llamaParseSetup(t, {
    env: { TVDB_MAX_ATTEMPTS: '3' },
    emulator: { startDelayMs: 5, perPageDelayMs: 1, faults: { serverErrors: { count: 1, status: 503 } } },
  });
  await pipeline.start();
  const ids = (
    await ingest(
      pipeline.deps,
      [1, 2].map((n) => ({ name: `calls-${n}.pdf`, bytes: minimalPdf([[`document ${n}`]]) })),
    )
  ).map((r) => (r.ok ? r.jobId : ''));
  const final = await waitForTerminal(work.pool, ids);
  t.deepEqual(
    Object.values(final).map((j) => j.state),
    ['complete', 'complete'],
  );
  const families = parseMetrics(await createMetrics(work.pool).render());
  if (!families) {
    t.pass();
    return;
  }
  const value = (name: string, labels: Record<string, string>) => sampleValue(families, name, labels) ?? 0;
  const calls = (operation: string, outcome: string) =>
    value('tvdb_external_calls_total', { service: 'llamaparse', operation, outcome });
  // The emulator's 503 answered the first upload; both uploads then succeeded.
  t.is(calls('upload', 'transient'), 1);
  t.is(calls('upload', 'success'), llama.stats.uploads);
  t.is(llama.stats.uploads, 2);
  t.true(calls('get_job', 'success') >= 2);
  t.is(
    value('tvdb_external_call_duration_seconds_count', {
      service: 'llamaparse',
      operation: 'upload',
      outcome: 'success',
    }),
    calls('upload', 'success'),
  );
  // Stage attempts: the upload retried once, then every task succeeded for each job (collection
  // may take more than one poll).
  const attempts = (task: string, outcome: string) =>
    value('tvdb_stage_attempts_total', {
      stage: task === 'job__chunk' ? 'chunk' : task === 'job__embed' ? 'embed' : 'parse',
      task,
      outcome,
    });
  t.is(attempts('job__parse', 'retried'), 1);
  t.is(attempts('job__parse', 'success'), 2);
  t.true(attempts('job__parse_collect', 'success') >= 2);
  t.is(attempts('job__chunk', 'success'), 2);
  t.is(attempts('job__embed', 'success'), 2);
  // The alert evaluator is on graphile-worker's crontab of every worker.
  const crontabs = await work.pool.anyFirst(
    sql.type(z.object({ identifier: z.string() }))`select identifier from graphile_worker._private_known_crontabs`,
  );
  t.true(crontabs.includes('alert__evaluate'));
});

function parseMetrics(text: string): Family[] | undefined {
  return officialParserMissing() ? undefined : parseExposition(text);
}

test('jobs failing in the pipeline raise one job_failed alert, POSTed signed with a timestamp, logged', async (t) => {
  const received: Array<{ body: string; headers: Record<string, string | string[] | undefined> }> = [];
  const hook = createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      received.push({ body, headers: req.headers });
      res.end('ok');
    });
  });
  await new Promise<void>((r) => hook.listen(0, '127.0.0.1', () => r()));
  t.teardown(() => new Promise((r) => hook.close(() => r(undefined))));
  const work = await createTestDatabase();
  const pipeline = testPipeline(work, {
    ALERT_WEBHOOK_URL: `http://127.0.0.1:${(hook.address() as { port: number }).port}/alerts`,
    ALERT_WEBHOOK_SECRET: 'alert-secret',
  });
  t.teardown(async () => {
    await pipeline.stop();
    await work.drop();
  });
  await awayFromWindowEdge();
  await pipeline.start();
  const results = await ingest(
    pipeline.deps,
    [1, 2, 3].map((n) => ({
      name: `broken-${n}.pdf`,
      bytes: Buffer.from(`%PDF-1.4\n${n} this is not a PDF body\n%%EOF`),
    })),
  );
  const final = await waitForTerminal(
    work.pool,
    results.map((r) => (r.ok ? r.jobId : '')),
  );
  t.deepEqual(
    Object.values(final).map((j) => j.state),
    ['failed_parse', 'failed_parse', 'failed_parse'],
  );
  for (let i = 0; i < 200 && received.length < 1; i++) await new Promise((r) => setTimeout(r, 50));
  await new Promise((r) => setTimeout(r, 1000)); // time for any second POST to arrive
  t.is(received.length, 1, 'one POST for three failures');
  const { body, headers } = received[0]!;
  t.true(
    verifySignature(Buffer.from(`${headers['x-tvdb-timestamp']}.${body}`), String(headers['x-tvdb-signature']), [
      'alert-secret',
    ]),
  );
  t.like(JSON.parse(body), { kind: 'job_failed', severity: 'warning', detail: { state: 'failed_parse' } });
  const [alert] = await rows(
    work,
    z.object({ occurrences: z.number(), delivered: z.boolean() }),
    `select occurrences, delivered_at is not null as delivered from alerts`,
  );
  t.deepEqual(alert, { occurrences: 3, delivered: true });
  t.true(
    pipeline.logs.some((l) => l.msg === `ALERT: ${JSON.parse(body).message}`),
    'logged at its severity',
  );
});
