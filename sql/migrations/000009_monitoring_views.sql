-- Up Migration

-- Time spent in each state (from job_events), over the last 24 hours: p50, p95, p99, max.
create view stage_latency as
with spans as (
  select e.from_state as state, extract(epoch from e.at - prev.at) as seconds
  from job_events e
  join lateral (
    select p.at from job_events p
    where p.job_id = e.job_id and p.id < e.id and p.kind <> 'note'
    order by p.id desc limit 1
  ) prev on true
  where e.kind = 'transition' and e.at > now() - interval '24 hours'
)
select state, count(*)::int as moves,
       round(percentile_cont(0.5) within group (order by seconds)::numeric, 3) as p50_s,
       round(percentile_cont(0.95) within group (order by seconds)::numeric, 3) as p95_s,
       round(percentile_cont(0.99) within group (order by seconds)::numeric, 3) as p99_s,
       round(max(seconds)::numeric, 3) as max_s
from spans group by state order by min(array_position(enum_range(null::job_state), state));

-- Failures over the last 24 hours: jobs that failed per stage with their top messages, and failed
-- attempts (retried) per stage and error class.
create view failure_summary as
select 'job_failed' as kind, to_state::text as stage, coalesce(detail ->> 'error_class', 'permanent') as error_class,
       left(detail ->> 'error', 200) as message, count(*)::int as occurrences, max(at) as last_at
from job_events
where kind = 'transition' and to_state::text like 'failed_%' and at > now() - interval '24 hours'
group by 2, 3, 4
union all
select 'attempt_failed', detail ->> 'stage', detail ->> 'error_class', left(detail ->> 'error', 200), count(*)::int, max(at)
from job_events
where kind = 'note' and detail ->> 'event' = 'attempt_failed' and at > now() - interval '24 hours'
group by 2, 3, 4
order by occurrences desc;

-- The queue per task: waiting (due now), scheduled (later), running (locked), retrying (failed
-- before and due again), permanently failed.
create view queue_depth as
select task_identifier as task,
       count(*) filter (where locked_at is null and run_at <= now() and attempts < max_attempts)::int as waiting,
       count(*) filter (where locked_at is null and run_at > now() and attempts = 0)::int as scheduled,
       count(*) filter (where locked_at is not null)::int as running,
       count(*) filter (where locked_at is null and attempts > 0 and attempts < max_attempts)::int as retrying,
       count(*) filter (where attempts >= max_attempts)::int as failed
from graphile_worker.jobs group by task_identifier order by task_identifier;
