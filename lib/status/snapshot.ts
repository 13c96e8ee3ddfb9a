// The pipeline's picture, read from the monitoring views in one go: what `tvdb status --watch`,
// the /status page and /metrics show. Every number comes from Postgres, so all hosts agree.
import { sql, type CommonQueryMethods } from 'slonik';
import { z } from 'zod';
import { getPipelineHealth } from './pipelineHealth.ts';
import { loadOutboxGauges } from '../outbox/outboxGauges.ts';

const Latency = z.object({
  state: z.string(),
  moves: z.number(),
  p50_s: z.number(),
  p95_s: z.number(),
  p99_s: z.number(),
  max_s: z.number(),
});
const FailureRate = z.object({
  stage: z.string(),
  attempts: z.number(),
  failures: z.number(),
  failure_rate: z.number(),
});
/** A row of failure_summary. */
export const TopFailure = z.object({
  kind: z.string(),
  stage: z.string(),
  error_class: z.string(),
  message: z.string().nullable(),
  occurrences: z.number(),
});
/** A row of queue_depth. */
export const Queue = z.object({
  task: z.string(),
  waiting: z.number(),
  scheduled: z.number(),
  running: z.number(),
  retrying: z.number(),
  failed: z.number(),
});
const Budget = z.object({
  budget_id: z.number(),
  scope: z.string(),
  period: z.string(),
  limit_micro_usd: z.number(),
  spent_micro_usd: z.number(),
  reserved_micro_usd: z.number(),
  remaining_micro_usd: z.number(),
  share_used: z.number(),
});
const Breaker = z.object({ service: z.string(), state: z.string(), consecutive_failures: z.number() });
const Stuck = z.object({ state: z.string(), jobs: z.number(), longest_s: z.number() });
const Cost = z.object({ service: z.string(), total_micro_usd: z.number(), today_micro_usd: z.number() });
const Alert = z.object({
  kind: z.string(),
  severity: z.string(),
  message: z.string(),
  occurrences: z.number(),
  created_at: z.number(),
});
const Refusal = z.object({ reason: z.string(), refusals: z.number() });

export type Snapshot = Awaited<ReturnType<typeof loadSnapshot>>;
export type Gauges = Awaited<ReturnType<typeof loadGauges>>;

/** Failure rates are over this window (the alert evaluator's default window too). */
export const FAILURE_WINDOW_MINUTES = 15;

/**
 * What /metrics turns into gauges: the cheap views, read at every scrape. (Percentiles over time
 * are Prometheus's to compute, from the histograms; stage_latency is for people.)
 */
export async function loadGauges(db: CommonQueryMethods) {
  const [health, failureRates, queue, budgets, breakers, stuck, costs, workers] = await Promise.all([
    getPipelineHealth(db),
    db.any(sql.type(FailureRate)`select stage, attempts, failures, failure_rate::float8
                                  from stage_failure_rates(make_interval(mins => ${FAILURE_WINDOW_MINUTES}))`),
    db.any(sql.type(Queue)`select * from queue_depth`),
    db.any(sql.type(Budget)`
      select budget_id::int, scope, period, limit_micro_usd::float8, spent_micro_usd::float8,
             reserved_micro_usd::float8, remaining_micro_usd::float8, share_used::float8
      from budget_status order by budget_id`),
    db.any(sql.type(Breaker)`select service, state, consecutive_failures from circuit_breakers order by service`),
    db.any(sql.type(
      Stuck,
    )`select state::text, count(*)::int as jobs, extract(epoch from max(in_state_for))::float8 as longest_s
                           from stuck_jobs group by state order by state`),
    db.any(sql.type(Cost)`
      select service, sum(cost_micro_usd)::float8 as total_micro_usd,
             coalesce(sum(cost_micro_usd) filter (where at >= date_trunc('day', now())), 0)::float8 as today_micro_usd
      from cost_ledger group by service order by service`),
    db.oneFirst(sql.type(z.object({ n: z.number() }))`select count(*)::int as n from worker_processes`),
  ]);
  const outbox = await loadOutboxGauges(db);
  return { at: Date.now(), health, failureRates, queue, budgets, breakers, stuck, costs, workers, outbox };
}

/** The whole picture for people: the gauges, plus time in state, top errors, alerts, refusals. */
export async function loadSnapshot(db: CommonQueryMethods) {
  const [gauges, latency, topFailures, alerts, refusals] = await Promise.all([
    loadGauges(db),
    db.any(sql.type(Latency)`select state::text, moves, p50_s::float8, p95_s::float8, p99_s::float8, max_s::float8
                              from stage_latency`),
    db.any(sql.type(TopFailure)`select kind, stage, error_class, message, occurrences from failure_summary limit 5`),
    db.any(
      sql.type(Alert)`select kind, severity, message, occurrences, created_at from alerts order by id desc limit 5`,
    ),
    db.any(
      sql.type(
        Refusal,
      )`select reason, sum(refusals)::int as refusals from webhook_refusals group by reason order by reason`,
    ),
  ]);
  return { ...gauges, latency, topFailures, alerts, refusals };
}

const Series = z.object({
  name: z.string(),
  labels: z.record(z.string(), z.string()),
  count: z.number(),
  sum: z.number(),
  bounds: z.array(z.number()).nullable(),
  buckets: z.array(z.number()).nullable(),
});
export type Series = z.infer<typeof Series>;

/** The counters and histograms that stages, calls and deliveries record (metric_series). */
export async function loadSeries(db: CommonQueryMethods): Promise<readonly Series[]> {
  return db.any(sql.type(Series)`
    select name, labels, count::float8 as count, sum, bounds, buckets::float8[] as buckets
    from metric_totals order by name, labels::text`);
}
