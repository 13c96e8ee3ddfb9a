// The status picture as titled tables, once: `tvdb status --watch` prints them as text, the /status
// page as HTML. Each row has a key (a state, a task, a service) so a cell is addressable as
// section/key/column (the page puts that in data-cell, for scripts and tests).
import { duration } from '../format.ts';
import { formatUsd } from '../costs/pricing.ts';
import { FAILURE_WINDOW_MINUTES, type Snapshot } from './snapshot.ts';

export type Cell = string | number | null;
export type Section = {
  id: string;
  title: string;
  keyLabel: string;
  columns: Array<{ id: string; label: string }>;
  rows: Array<{ key: string; cells: Cell[] }>;
  empty: string;
};

const cols = (...pairs: Array<[string, string]>) => pairs.map(([id, label]) => ({ id, label }));
const percent = (share: number) => `${(share * 100).toFixed(1)}%`;
const seconds = (s: number) => duration(s);
/** Rows keyed by their rank (1, 2, ...), for lists with no natural key. */
const ranked = <T>(items: readonly T[], cells: (item: T) => Cell[]) =>
  items.map((item, i) => ({ key: String(i + 1), cells: cells(item) }));

export function statusSections(s: Snapshot): Section[] {
  return [
    {
      id: 'states',
      keyLabel: 'state',
      title: 'Jobs by state',
      columns: cols(['jobs', 'jobs'], ['oldest', 'oldest'], ['in_5m', 'in 5m'], ['in_60m', 'in 60m']),
      rows: s.health.map((r) => ({
        key: r.state,
        cells: [r.jobs, duration(r.oldest_age_s), r.entered_last_5m, r.entered_last_60m],
      })),
      empty: 'no jobs',
    },
    {
      id: 'latency',
      keyLabel: 'state',
      title: 'Time in state, last 24 h',
      columns: cols(['moves', 'moves'], ['p50', 'p50'], ['p95', 'p95'], ['p99', 'p99'], ['max', 'max']),
      rows: s.latency.map((r) => ({
        key: r.state,
        cells: [r.moves, seconds(r.p50_s), seconds(r.p95_s), seconds(r.p99_s), seconds(r.max_s)],
      })),
      empty: 'no moves in the last 24 hours',
    },
    {
      id: 'failures',
      keyLabel: 'stage',
      title: `Stage failures, last ${FAILURE_WINDOW_MINUTES} min`,
      columns: cols(['attempts', 'attempts'], ['failures', 'failures'], ['rate', 'rate']),
      rows: s.failureRates.map((r) => ({ key: r.stage, cells: [r.attempts, r.failures, percent(r.failure_rate)] })),
      empty: 'no stage attempts',
    },
    {
      id: 'errors',
      keyLabel: '#',
      title: 'Top errors, last 24 h',
      columns: cols(['stage', 'stage'], ['class', 'class'], ['count', 'count'], ['message', 'message']),
      rows: ranked(s.topFailures, (r) => [r.stage, r.error_class, r.occurrences, r.message]),
      empty: 'no errors',
    },
    {
      id: 'queue',
      keyLabel: 'task',
      title: 'Queue (graphile-worker)',
      columns: cols(
        ['waiting', 'waiting'],
        ['scheduled', 'scheduled'],
        ['running', 'running'],
        ['retrying', 'retrying'],
        ['failed', 'failed'],
      ),
      rows: s.queue.map((r) => ({ key: r.task, cells: [r.waiting, r.scheduled, r.running, r.retrying, r.failed] })),
      empty: 'queue empty',
    },
    {
      id: 'budgets',
      keyLabel: 'budget',
      title: 'Budgets',
      columns: cols(['spent', 'spent'], ['reserved', 'reserved'], ['limit', 'limit'], ['used', 'used']),
      rows: s.budgets.map((b) => ({
        key: `${b.scope} ${b.period}`,
        cells: [
          formatUsd(b.spent_micro_usd),
          formatUsd(b.reserved_micro_usd),
          formatUsd(b.limit_micro_usd),
          percent(b.share_used),
        ],
      })),
      empty: 'no budgets set; see tvdb budget --help',
    },
    {
      id: 'costs',
      keyLabel: 'service',
      title: 'Costs',
      columns: cols(['today', 'today'], ['total', 'total']),
      rows: s.costs.map((c) => ({
        key: c.service,
        cells: [formatUsd(c.today_micro_usd), formatUsd(c.total_micro_usd)],
      })),
      empty: 'nothing spent',
    },
    {
      id: 'breakers',
      keyLabel: 'service',
      title: 'Circuit breakers',
      columns: cols(['state', 'state'], ['failures', 'consecutive failures']),
      rows: s.breakers.map((b) => ({ key: b.service, cells: [b.state, b.consecutive_failures] })),
      empty: 'no breakers',
    },
    {
      id: 'refusals',
      title: 'Webhook refusals, last 24 h',
      keyLabel: 'reason',
      columns: cols(['refusals', 'refusals']),
      rows: s.refusals.map((r) => ({ key: r.reason, cells: [r.refusals] })),
      empty: 'none',
    },
    {
      id: 'stuck',
      keyLabel: 'state',
      title: 'Stuck jobs',
      columns: cols(['jobs', 'jobs'], ['longest', 'longest']),
      rows: s.stuck.map((r) => ({ key: r.state, cells: [r.jobs, duration(r.longest_s)] })),
      empty: 'none',
    },
    {
      id: 'alerts',
      keyLabel: '#',
      title: 'Recent alerts',
      columns: cols(['at', 'at'], ['severity', 'severity'], ['times', 'times'], ['message', 'message']),
      rows: ranked(s.alerts, (a) => [
        new Date(a.created_at).toISOString().slice(0, 19).replace('T', ' '),
        a.severity,
        a.occurrences,
        a.message,
      ]),
      empty: 'none',
    },
  ];
}

/** One line above the tables: when, how many workers, the totals users look for first. */
export function statusHeadline(s: Snapshot): string {
  const total = s.health.reduce((n, r) => n + r.jobs, 0);
  const count = (state: string) => s.health.find((r) => r.state === state)?.jobs ?? 0;
  const failed = s.health.filter((r) => r.state.startsWith('failed_')).reduce((n, r) => n + r.jobs, 0);
  const stuck = s.stuck.reduce((n, r) => n + r.jobs, 0);
  const spent = s.costs.reduce((n, c) => n + c.total_micro_usd, 0);
  return (
    `${new Date(s.at).toISOString().slice(0, 19).replace('T', ' ')} UTC  workers ${s.workers}  ` +
    `jobs ${total}: ${count('complete')} complete, ${failed} failed, ${total - count('complete') - failed} in progress` +
    `${stuck ? `, ${stuck} stuck` : ''}  spent ${formatUsd(spent)}`
  );
}
