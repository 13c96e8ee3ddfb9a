// npm run bench:views: the monitoring views with 100k jobs in the tables. Seeds a history (jobs,
// their events, ledger rows, queued tasks, refusals), then times each view (median of 5) and
// prints its EXPLAIN ANALYZE. BENCH_JOBS sets the number of jobs (100000); BENCH_SPREAD_DAYS how
// many days the history covers (30: a month of work; 1 puts every job in the 24-hour windows).
import { mkdirSync, writeFileSync } from 'node:fs';
import { sql } from 'slonik';
import { z } from 'zod';
import { createDatabasePool } from '../lib/db/database.ts';
import { createMetrics } from '../lib/metrics/prometheus.ts';
import { loadSnapshot } from '../lib/status/snapshot.ts';
import { scratchDatabase } from './harness.ts';
import { writtenSql } from '../lib/db/writtenSql.ts';

const JOBS = Number(process.env.BENCH_JOBS ?? 100_000);
const SPREAD_DAYS = Number(process.env.BENCH_SPREAD_DAYS ?? 30);

const QUERIES: Array<[name: string, query: string]> = [
  ['pipeline_health', 'select * from pipeline_health'],
  ['stage_latency', 'select * from stage_latency'],
  ['stuck_jobs', 'select * from stuck_jobs'],
  ['failure_summary', 'select * from failure_summary'],
  ['stage_failure_rates', "select * from stage_failure_rates(interval '15 minutes')"],
  ['queue_depth', 'select * from queue_depth'],
  ['circuit_breakers', 'select * from circuit_breakers'],
  ['budget_status', 'select * from budget_status'],
  ['cost_summary', 'select * from cost_summary'],
  ['webhook_refusals', 'select * from webhook_refusals'],
  ['metric_totals', 'select * from metric_totals'],
];

const db = await scratchDatabase();
const pool = await createDatabasePool(db.ownerUrl, 4); // backdated history: the owner's to write
try {
  const seedStarted = performance.now();
  await pool.transaction(async (tx) => {
    await tx.query(sql.unsafe`set local session_replication_role = replica`);
    await tx.query(sql.unsafe`
      insert into documents (sha256, byte_size, media_type, content) values (sha256('bench'), 5, 'text/plain', 'bench')`);
    // 90% complete, 5% failed in parse, 3% in progress, 2% stranded in parse_queued.
    await tx.query(sql.unsafe`
      insert into jobs (document_id, file_name, correlation_id, state, state_changed_at, created_at, last_error)
      select (select min(id) from documents), 'bench-' || g || '.pdf', 'bench-' || g,
             s.state, case when s.state = 'parse_queued' and g % 100 >= 98 then now() - interval '1 hour' else s.at + interval '40 s' end,
             s.at, case when s.state = 'failed_parse' then 'corrupt PDF' end
      from generate_series(1, ${JOBS}) g,
      lateral (select now() - random() * make_interval(days => ${SPREAD_DAYS}) - interval '1 minute' as at,
                      (case when g % 100 < 90 then 'complete'
                            when g % 100 < 95 then 'failed_parse'
                            when g % 100 < 98 then (array['parse_queued', 'chunking', 'embedding_queued'])[g % 3 + 1]
                            else 'parse_queued' end)::job_state as state) s`);
    await tx.query(sql.unsafe`
      insert into job_events (job_id, kind, from_state, to_state, correlation_id, detail, at, seconds_in_from_state)
      select j.id, case when i = 1 then 'created' else 'transition' end,
             case when i > 1 then p.path[i - 1] end, p.path[i], j.correlation_id,
             case when p.path[i] = 'failed_parse' then '{"error": "corrupt PDF", "error_class": "permanent"}'::jsonb else '{}' end,
             j.created_at + (i - 1) * interval '5 s', case when i > 1 then 5 + (i * 7 + length(j.file_name)) % 20 end
      from jobs j
      cross join lateral (select case
        when j.state = 'failed_parse' then array['uploaded', 'parse_queued', 'failed_parse']::job_state[]
        else (enum_range('uploaded'::job_state, j.state))::job_state[] end as path) p
      cross join lateral generate_series(1, cardinality(p.path)) i`);
    await tx.query(sql.unsafe`
      insert into job_events (job_id, kind, from_state, to_state, correlation_id, detail, at)
      select j.id, 'note', null, 'parse_queued', j.correlation_id,
             '{"event": "attempt_failed", "stage": "parse", "error_class": "transient", "error": "HTTP 503"}', j.created_at + interval '3 s'
      from jobs j, generate_series(1, 2) where j.state = 'failed_parse'`);
    await tx.query(sql.unsafe`
      insert into cost_ledger (service, operation, units, unit, cost_micro_usd, estimated, job_id, correlation_id, at)
      select svc, op, 3, unit, cost, false, j.id, j.correlation_id, j.created_at + interval '20 s'
      from jobs j, (values ('llamaparse', 'parse', 'pages', 9000), ('embeddings', 'embed', 'tokens', 40)) v(svc, op, unit, cost)
      where j.state = 'complete'`);
    await tx.query(sql.unsafe`
      insert into budgets (scope, period, limit_micro_usd) values ('all', 'month', 5000000000), ('llamaparse', 'day', 50000000)`);
    await tx.query(sql.unsafe`
      insert into webhook_refusal_log (at, reason, http_status, source_address)
      select now() - random() * make_interval(days => ${SPREAD_DAYS}), 'bad_signature', 401, '10.0.0.1'
      from generate_series(1, ${Math.round(JOBS / 10)})`);
  });
  // A backlog: 20% of the job count waiting in the queue.
  await pool.query(sql.unsafe`
    select graphile_worker.add_jobs(array_agg(row('job__chunk', json_build_object('jobId', gen_random_uuid()), null, now() + interval '1 hour', null, null, null, null)::graphile_worker.job_spec))
    from generate_series(1, ${Math.round(JOBS / 5)})`);
  await pool.query(sql.unsafe`analyze`);
  const counts = await pool.one(sql.type(z.object({ jobs: z.number(), events: z.number(), ledger: z.number() }))`
    select (select count(*)::int from jobs) as jobs, (select count(*)::int from job_events) as events,
           (select count(*)::int from cost_ledger) as ledger`);
  console.log(
    `seeded ${counts.jobs} jobs, ${counts.events} events, ${counts.ledger} ledger rows over ${SPREAD_DAYS} day(s) in ${((performance.now() - seedStarted) / 1000).toFixed(1)} s`,
  );

  const explains: string[] = [];
  console.log('\nquery                 median ms   max ms   rows');
  const time = async (name: string, run: () => Promise<number>) => {
    const ms: number[] = [];
    let rows = 0;
    for (let i = 0; i < 5; i++) {
      const started = performance.now();
      rows = await run();
      ms.push(performance.now() - started);
    }
    ms.sort((a, b) => a - b);
    console.log(
      `${name.padEnd(22)}${ms[2]!.toFixed(1).padStart(9)}${ms[4]!.toFixed(1).padStart(9)}${String(rows).padStart(7)}`,
    );
  };
  for (const [name, query] of QUERIES) {
    await time(name, async () => (await pool.query(writtenSql(query))).rowCount);
    const lines = (await pool.any(writtenSql(`explain (analyze, buffers) ${query}`))).map((r) =>
      String(Object.values(r as Record<string, unknown>)[0]),
    );
    explains.push(`-- ${name}\n${lines.join('\n')}\n`);
  }
  await time('snapshot (status)', async () => (await loadSnapshot(pool)).health.length);
  const metrics = createMetrics(pool);
  await time('/metrics render', async () => (await metrics.render()).split('\n').length);
  mkdirSync('reports', { recursive: true });
  const out = process.env.BENCH_EXPLAIN_OUT ?? 'reports/bench-views-explain.txt';
  writeFileSync(out, explains.join('\n'));
  console.log(`\nEXPLAIN ANALYZE of each view: ${out}`);
} finally {
  await pool.end();
  await db.drop();
}
