// GET /metrics: the Prometheus text format, rendered by prom-client. Gauges are read from the
// monitoring views at scrape time; counters and histograms from metric_series, where workers on
// every host record their stage attempts and external calls and the server its webhook deliveries.
// Every series therefore says the same from whichever server Prometheus scrapes: scrape one (or
// aggregate with max, not sum). Labels are small fixed sets: state, stage, task, service, outcome.
import { collectDefaultMetrics, Gauge, Registry, type Metric } from 'prom-client';
import type { CommonQueryMethods } from 'slonik';
import { loadGauges, loadSeries, type Gauges, type Series } from '../status/snapshot.ts';

type Value = { labels: Record<string, string | number>; value: number; metricName?: string };

/**
 * A counter or histogram family whose cumulative values live in Postgres. prom-client's own
 * Counter and Histogram only accumulate observations made in this process, so the family is a
 * small metric object that the registry renders like its own.
 */
class StoredFamily {
  name: string;
  help: string;
  type: 'counter' | 'histogram';
  /** The metric_series name it is read from (a counter can be a histogram's count). */
  source: string;
  aggregator = 'sum' as const;
  values: Value[] = [];
  constructor(name: string, help: string, type: 'counter' | 'histogram', source = name) {
    this.name = name;
    this.help = help;
    this.type = type;
    this.source = source;
  }
  async get() {
    return { name: this.name, help: this.help, type: this.type, values: this.values, aggregator: this.aggregator };
  }
}

/** Counters, and histograms' buckets made cumulative as the text format wants them. */
function familyValues(family: StoredFamily, rows: readonly Series[]): Value[] {
  if (family.type === 'counter') return rows.map((r) => ({ labels: withoutEmpty(r.labels), value: r.count }));
  return rows.flatMap((r) => {
    const labels = withoutEmpty(r.labels);
    let cumulative = 0;
    const buckets = (r.bounds ?? []).map((le, i) => {
      cumulative += r.buckets?.[i] ?? 0;
      return { labels: { ...labels, le }, value: cumulative, metricName: `${family.name}_bucket` };
    });
    return [
      ...buckets,
      { labels: { ...labels, le: '+Inf' }, value: r.count, metricName: `${family.name}_bucket` },
      { labels, value: r.sum, metricName: `${family.name}_sum` },
      { labels, value: r.count, metricName: `${family.name}_count` },
    ];
  });
}

/** A label recorded empty (a webhook delivery's reason when it was not refused) is no label. */
const withoutEmpty = (labels: Record<string, string>) =>
  Object.fromEntries(Object.entries(labels).filter(([, v]) => v));

const BREAKER_STATE = { closed: 0, half_open: 1, open: 2 } as const;

export function createMetrics(db: CommonQueryMethods) {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'tvdb_server_' });

  const gauges: Array<[Gauge, (g: Gauge, s: Gauges) => void]> = [];
  const gauge = (name: string, help: string, labelNames: string[], fill: (g: Gauge, s: Gauges) => void) =>
    gauges.push([new Gauge({ name, help, labelNames, registers: [registry] }), fill]);

  gauge('tvdb_jobs', 'Jobs in each state (pipeline_health).', ['state'], (g, s) => {
    for (const r of s.health) g.set({ state: r.state }, r.jobs);
  });
  gauge(
    'tvdb_job_oldest_age_seconds',
    'Age in its state of the oldest job in each state (pipeline_health; states with jobs only).',
    ['state'],
    (g, s) => {
      for (const r of s.health) if (r.oldest_age_s !== null) g.set({ state: r.state }, r.oldest_age_s);
    },
  );
  gauge('tvdb_jobs_entered_last_5m', 'Jobs that entered each state in the last 5 minutes.', ['state'], (g, s) => {
    for (const r of s.health) g.set({ state: r.state }, r.entered_last_5m);
  });
  gauge('tvdb_stuck_jobs', 'Jobs stranded in a state with no task queued (stuck_jobs).', ['state'], (g, s) => {
    for (const r of s.stuck) g.set({ state: r.state }, r.jobs);
  });
  gauge(
    'tvdb_queue_jobs',
    'graphile-worker jobs per task and status: waiting, scheduled, running, retrying, failed (queue_depth).',
    ['task', 'status'],
    (g, s) => {
      for (const r of s.queue)
        for (const status of ['waiting', 'scheduled', 'running', 'retrying', 'failed'] as const)
          g.set({ task: r.task, status }, r[status]);
    },
  );
  const budgetLabels = ['budget_id', 'scope', 'period'];
  const budgetGauge = (name: string, help: string, pick: (b: Gauges['budgets'][number]) => number) =>
    gauge(name, help, budgetLabels, (g, s) => {
      for (const b of s.budgets) g.set({ budget_id: b.budget_id, scope: b.scope, period: b.period }, pick(b));
    });
  budgetGauge(
    'tvdb_budget_limit_micro_usd',
    'Budget limit for its current period (budget_status).',
    (b) => b.limit_micro_usd,
  );
  budgetGauge('tvdb_budget_spent_micro_usd', 'Spent in the budget period (budget_status).', (b) => b.spent_micro_usd);
  budgetGauge('tvdb_budget_reserved_micro_usd', 'Held by reservations of work in flight.', (b) => b.reserved_micro_usd);
  budgetGauge('tvdb_budget_remaining_micro_usd', 'Limit minus spent minus reserved.', (b) => b.remaining_micro_usd);
  budgetGauge('tvdb_budget_used_ratio', '(Spent + reserved) / limit.', (b) => b.share_used);
  gauge(
    'tvdb_circuit_breaker_state',
    'Circuit breaker per external service: 0 closed, 1 half-open, 2 open.',
    ['service'],
    (g, s) => {
      for (const b of s.breakers) g.set({ service: b.service }, BREAKER_STATE[b.state as keyof typeof BREAKER_STATE]);
    },
  );
  gauge(
    'tvdb_stage_failure_ratio',
    'Failed attempts / attempts per stage over the last 15 minutes.',
    ['stage'],
    (g, s) => {
      for (const r of s.failureRates) g.set({ stage: r.stage }, r.failure_rate);
    },
  );
  gauge('tvdb_workers', 'Worker processes with a live heartbeat (worker_processes).', [], (g, s) => g.set(s.workers));
  gauge('tvdb_webhook_out_pending_messages', 'Outbound webhook messages waiting to be delivered.', [], (g, s) =>
    g.set(s.outbox.pending),
  );
  gauge('tvdb_webhook_out_oldest_pending_seconds', 'Age of the oldest outbound webhook message waiting.', [], (g, s) =>
    g.set(s.outbox.oldest_pending_s),
  );
  gauge('tvdb_webhook_subscriptions', 'Webhook subscriptions (callbacks included) by state.', ['state'], (g, s) => {
    g.set({ state: 'enabled' }, s.outbox.enabled);
    g.set({ state: 'disabled' }, s.outbox.disabled);
  });

  const families = [
    new StoredFamily(
      'tvdb_stage_duration_seconds',
      'Time jobs spent in each state before moving on (from every transition).',
      'histogram',
    ),
    new StoredFamily(
      'tvdb_stage_attempt_duration_seconds',
      'Duration of stage task attempts by stage, task and outcome (success, retried, failed, deferred, paused).',
      'histogram',
    ),
    new StoredFamily(
      'tvdb_stage_attempts_total',
      'Stage task attempts by stage, task and outcome.',
      'counter',
      'tvdb_stage_attempt_duration_seconds',
    ),
    new StoredFamily(
      'tvdb_external_call_duration_seconds',
      'Latency of calls to LlamaParse and the embedding API by service, operation and outcome.',
      'histogram',
    ),
    new StoredFamily(
      'tvdb_external_calls_total',
      'Calls made to external services by service, operation and outcome.',
      'counter',
      'tvdb_external_call_duration_seconds',
    ),
    new StoredFamily(
      'tvdb_external_calls_denied_total',
      'Calls not made: the circuit breaker was open or the rate limit empty.',
      'counter',
    ),
    new StoredFamily(
      'tvdb_task_deferrals_total',
      'Stage tasks deferred without using an attempt, by task and reason (rate_limited, breaker_open, waiting_for_budget, stage_busy, waiting_for_credits).',
      'counter',
    ),
    new StoredFamily(
      'tvdb_webhook_deliveries_total',
      'LlamaParse webhook deliveries by outcome (accepted, duplicate, retry_later, refused) and refusal reason.',
      'counter',
    ),
    new StoredFamily('tvdb_alerts_total', 'Alerts raised (after deduplication) by kind and severity.', 'counter'),
    new StoredFamily(
      'tvdb_webhook_out_attempt_duration_seconds',
      'Latency of outbound webhook delivery attempts by event type and outcome.',
      'histogram',
    ),
    new StoredFamily(
      'tvdb_webhook_out_attempts_total',
      'Outbound webhook delivery attempts by event type and outcome (delivered, rejected, gone, timeout, unreachable, blocked).',
      'counter',
      'tvdb_webhook_out_attempt_duration_seconds',
    ),
    new StoredFamily(
      'tvdb_webhook_out_messages_total',
      'Outbound webhook messages concluded by event type and outcome (delivered, failed, cancelled).',
      'counter',
    ),
  ];
  // Read from the ledger (a view), not from metric_series.
  const cost = new StoredFamily(
    'tvdb_cost_micro_usd_total',
    'Money spent per service since the ledger began, micro-USD (cost_ledger).',
    'counter',
  );
  for (const family of [...families, cost]) registry.registerMetric(family as unknown as Metric);

  function fill(series: readonly Series[], picture: Gauges) {
    for (const [g, fillGauge] of gauges) {
      g.reset();
      fillGauge(g, picture);
    }
    for (const family of families)
      family.values = familyValues(
        family,
        series.filter((r) => r.name === family.source),
      );
    cost.values = picture.costs.map((c) => ({ labels: { service: c.service }, value: c.total_micro_usd }));
  }

  // Scrapes are rendered one at a time: each fills the shared metric objects before reading them.
  let queue: Promise<unknown> = Promise.resolve();
  async function render(): Promise<string> {
    const [picture, series] = await Promise.all([loadGauges(db), loadSeries(db)]);
    fill(series, picture);
    return registry.metrics();
  }
  return {
    contentType: registry.contentType,
    render(): Promise<string> {
      const next = queue.then(render, render);
      queue = next.catch(() => {});
      return next;
    },
  };
}
