-- Up Migration

-- Metrics that Prometheus scrapes from any server, kept in Postgres so that work done by workers on
-- any host is counted once and every scrape agrees: cumulative counters and histograms, one row per
-- (metric, label set, shard). Writers spread over a few shards (by backend pid) so that concurrent
-- transactions rarely wait on the same row; readers sum the shards.
create table metric_series (
  name text not null,
  labels jsonb not null default '{}',
  shard smallint not null,
  count bigint not null default 0,
  sum double precision not null default 0,
  -- Histograms only: upper bounds of the buckets, and per-bucket (not cumulative) counts with one
  -- more slot for values above the last bound (+Inf).
  bounds double precision[],
  buckets bigint[],
  primary key (name, labels, shard),
  check ((bounds is null) = (buckets is null)),
  check (bounds is null or cardinality(buckets) = cardinality(bounds) + 1)
);

-- Count one observation. A histogram passes its bucket bounds (they must not change for a series).
create function observe_metric(p_name text, p_labels jsonb, p_value double precision default 1,
                               p_bounds double precision[] default null)
returns void
language plpgsql volatile as $$
declare
  v_shard smallint := pg_backend_pid() % 8;
  v_slot int;
  v_buckets bigint[];
begin
  if p_bounds is not null then
    v_slot := coalesce((select min(i) from generate_subscripts(p_bounds, 1) i where p_value <= p_bounds[i]),
                       cardinality(p_bounds) + 1);
    v_buckets := array_fill(0::bigint, array[cardinality(p_bounds) + 1]);
    v_buckets[v_slot] := 1;
  end if;
  insert into metric_series as m (name, labels, shard, count, sum, bounds, buckets)
  values (p_name, coalesce(p_labels, '{}'), v_shard, 1, p_value, p_bounds, v_buckets)
  on conflict (name, labels, shard) do update
    set count = m.count + 1,
        sum = m.sum + excluded.sum,
        buckets = case when m.buckets is null then null
                       else (select array_agg(a + b order by i)
                             from unnest(m.buckets, excluded.buckets) with ordinality as u(a, b, i)) end;
end $$;

-- The metric families summed over shards, as /metrics exposes them.
create view metric_totals as
select name, labels, sum(count)::bigint as count, sum(sum) as sum, min(bounds) as bounds,
       (select array_agg(total order by i) from (
          select i, sum(s.buckets[i])::bigint as total
          from metric_series s, generate_subscripts(s.buckets, 1) i
          where s.name = m.name and s.labels = m.labels group by i) t) as buckets
from metric_series m
group by name, labels;

-- Bucket bounds (seconds) for time spent in a state: from a fast local step to a long LlamaParse job.
create function stage_duration_bounds() returns double precision[]
language sql immutable as $$
  select array[0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 900, 1800, 3600]::double precision[]
$$;

-- Each move now records how long the job spent in the state it leaves (the lateral look-up for the
-- previous event cost a second per 100k jobs), feeds the stage-duration histogram, and a job that
-- ends in a failed state raises an alert, one per failed state and quarter hour however many fail.
alter table job_events add column seconds_in_from_state double precision;

create or replace function tg_jobs__record_event() returns trigger
language plpgsql volatile as $$
declare
  v_detail jsonb := coalesce(nullif(current_setting('tvdb.event_detail', true), '')::jsonb, '{}');
  v_seconds double precision;
begin
  if not v_detail ? 'who' then
    v_detail := v_detail || jsonb_build_object('who', current_user);
  end if;
  if tg_op = 'INSERT' then
    insert into job_events (job_id, kind, from_state, to_state, correlation_id, detail)
    values (new.id, 'created', null, new.state, new.correlation_id, v_detail);
  elsif new.state is distinct from old.state then
    v_seconds := greatest(0, extract(epoch from new.state_changed_at - old.state_changed_at));
    insert into job_events (job_id, kind, from_state, to_state, correlation_id, detail, seconds_in_from_state)
    values (new.id, 'transition', old.state, new.state, new.correlation_id, v_detail, v_seconds);
    perform observe_metric('tvdb_stage_duration_seconds', jsonb_build_object('state', old.state), v_seconds,
                           stage_duration_bounds());
    if new.state::text like 'failed_%' then
      perform raise_alert('job_failed',
        format('job_failed:%s:%s', new.state, date_bin('15 minutes', now(), timestamptz '2000-01-01')),
        'warning',
        format('job %s (%s) entered %s: %s', new.id, new.file_name, new.state,
               coalesce(v_detail ->> 'error', new.last_error, 'no reason recorded')),
        jsonb_build_object('state', new.state, 'first_job_id', new.id, 'correlation_id', new.correlation_id,
                           'error', coalesce(v_detail ->> 'error', new.last_error)));
    end if;
  end if;
  return null;
end $$;

-- Windows over job_events by time (stage_latency, failure_summary, the alert evaluator).
create index job_events_transition_at_idx on job_events (at) include (from_state, to_state, seconds_in_from_state)
  where kind = 'transition';
create index job_events_note_at_idx on job_events (at) where kind = 'note';

-- Moves recorded before this migration get their time in state from the previous event. A derived
-- value added to history, not a change of it: the append-only guard steps aside for this one update.
alter table job_events disable trigger _100_append_only;
update job_events e set seconds_in_from_state = greatest(0, extract(epoch from e.at - (
  select p.at from job_events p
  where p.job_id = e.job_id and p.id < e.id and p.kind <> 'note'
  order by p.id desc limit 1)))
where e.kind = 'transition' and e.seconds_in_from_state is null;
alter table job_events enable trigger _100_append_only;

-- Time spent in each state over the last 24 hours: p50, p95, p99, max (one sort per state for the
-- three percentiles).
create or replace view stage_latency as
select state, moves,
       round(p[1]::numeric, 3) as p50_s, round(p[2]::numeric, 3) as p95_s, round(p[3]::numeric, 3) as p99_s,
       round(max_s::numeric, 3) as max_s
from (
  select from_state as state, count(*)::int as moves,
         percentile_cont(array[0.5, 0.95, 0.99]) within group (order by seconds_in_from_state) as p,
         max(seconds_in_from_state) as max_s
  from job_events
  where kind = 'transition' and at > now() - interval '24 hours'
  group by from_state
) s
order by array_position(enum_range(null::job_state), state);

-- failure_summary, with failed moves found through the (to_state, at) index instead of a pattern.
create or replace view failure_summary as
select 'job_failed' as kind, to_state::text as stage, coalesce(detail ->> 'error_class', 'permanent') as error_class,
       left(detail ->> 'error', 200) as message, count(*)::int as occurrences, max(at) as last_at
from job_events
where kind = 'transition' and to_state in ('failed_parse', 'failed_chunking', 'failed_embedding')
  and at > now() - interval '24 hours'
group by 2, 3, 4
union all
select 'attempt_failed', detail ->> 'stage', detail ->> 'error_class', left(detail ->> 'error', 200), count(*)::int, max(at)
from job_events
where kind = 'note' and detail ->> 'event' = 'attempt_failed' and at > now() - interval '24 hours'
group by 2, 3, 4
order by occurrences desc;

-- An alert repeated within its window is one row that counts its occurrences.
alter table alerts add column occurrences int not null default 1;
alter table alerts add column last_seen_at timestamptz not null default now();

create or replace function raise_alert(p_kind text, p_key text, p_severity text, p_message text, p_detail jsonb default '{}')
returns bigint
language plpgsql volatile as $$
declare
  v_id bigint;
  v_new boolean;
begin
  insert into alerts as a (kind, dedupe_key, severity, message, detail)
  values (p_kind, p_key, p_severity, p_message, coalesce(p_detail, '{}'))
  on conflict (dedupe_key) do update set occurrences = a.occurrences + 1, last_seen_at = now()
  returning id, (xmax = 0) into v_id, v_new;
  if v_new then
    perform graphile_worker.add_job('alert__deliver', json_build_object('alertId', v_id), max_attempts => 10);
    perform observe_metric('tvdb_alerts_total', jsonb_build_object('kind', p_kind, 'severity', p_severity));
    return v_id;
  end if;
  return null;
end $$;

-- The stages' work, as job_events show it: which state a stage's success enters, which its failure.
create view stage_outcome_states as
select * from (values ('parse', 'parsed'::job_state, 'failed_parse'::job_state),
                      ('chunk', 'chunks_stored'::job_state, 'failed_chunking'::job_state),
                      ('embed', 'embeddings_stored'::job_state, 'failed_embedding'::job_state)) as v(stage, done_state, failed_state);

-- Attempts per stage over a window: successes (moves into the stage's done state), failed attempts
-- that were retried (notes), and jobs that failed for good (moves into the failed state).
create function stage_failure_rates(p_window interval)
returns table (stage text, attempts int, failures int, failure_rate numeric)
language sql stable as $$
  with w as (
    select s.stage,
           count(*) filter (where e.kind = 'transition' and e.to_state = s.done_state) as ok,
           count(*) filter (where e.kind = 'transition' and e.to_state = s.failed_state) as failed,
           count(*) filter (where e.kind = 'note' and e.detail ->> 'event' = 'attempt_failed') as retried
    from stage_outcome_states s
    left join job_events e on e.at > now() - p_window and (
      (e.kind = 'transition' and e.to_state in (s.done_state, s.failed_state))
      or (e.kind = 'note' and e.detail ->> 'stage' = s.stage))
    group by s.stage
  )
  select stage, (ok + failed + retried)::int, (failed + retried)::int,
         case when ok + failed + retried = 0 then 0 else round((failed + retried)::numeric / (ok + failed + retried), 4) end
  from w order by stage;
$$;

-- What the alert evaluator (task alert__evaluate, every minute on some worker) checks: a stage
-- failing more than p_max_rate of at least p_min_attempts attempts over p_window, and stuck jobs.
-- Each condition raises at most one alert per window. Returns the alerts raised.
create function evaluate_pipeline_alerts(p_window interval, p_max_rate numeric, p_min_attempts int)
returns int
language plpgsql volatile as $$
declare
  v record;
  v_raised int := 0;
  v_window text := date_bin(p_window, now(), timestamptz '2000-01-01')::text;
begin
  for v in select * from stage_failure_rates(p_window) where attempts >= p_min_attempts and failure_rate > p_max_rate loop
    if raise_alert('stage_failure_rate', format('stage_failure_rate:%s:%s', v.stage, v_window), 'critical',
         format('%s stage: %s of %s attempts failed in the last %s (%s%%, threshold %s%%)', v.stage, v.failures,
                v.attempts, p_window, round(100 * v.failure_rate, 1), round(100 * p_max_rate, 1)),
         jsonb_build_object('stage', v.stage, 'attempts', v.attempts, 'failures', v.failures,
                            'failure_rate', v.failure_rate, 'window', p_window::text)) is not null then
      v_raised := v_raised + 1;
    end if;
  end loop;
  for v in select count(*)::int as jobs, max(in_state_for) as longest, array_agg(distinct state::text) as states
           from stuck_jobs having count(*) > 0 loop
    if raise_alert('stuck_jobs', format('stuck_jobs:%s', v_window), 'warning',
         format('%s job(s) stuck with no task queued (states: %s; longest %s); the reconciler re-enqueues them, see the stuck_jobs view',
                v.jobs, array_to_string(v.states, ', '), date_trunc('second', v.longest)),
         jsonb_build_object('jobs', v.jobs, 'states', v.states, 'longest_s', extract(epoch from v.longest)::int)) is not null then
      v_raised := v_raised + 1;
    end if;
  end loop;
  return v_raised;
end $$;

-- Webhook deliveries by outcome, counted where they are decided: the delivery function (accepted,
-- duplicate, retry_later) and the refusal log (refused, with its reason).
alter function record_webhook_delivery(text, text, text, text, boolean, boolean, int)
  rename to record_webhook_delivery_uncounted;

create function record_webhook_delivery(
  p_token text, p_event_id text, p_event_type text, p_llamaparse_job_id text,
  p_known boolean, p_final boolean, p_max_attempts int
) returns table (outcome text, job_id uuid, acted boolean, detail text)
language plpgsql volatile as $$
declare
  r record;
begin
  select * into r from record_webhook_delivery_uncounted(p_token, p_event_id, p_event_type, p_llamaparse_job_id,
                                                         p_known, p_final, p_max_attempts);
  if r.outcome in ('accepted', 'duplicate', 'not_recorded_yet') then
    perform observe_metric('tvdb_webhook_deliveries_total', jsonb_build_object(
      'outcome', case r.outcome when 'not_recorded_yet' then 'retry_later' else r.outcome end, 'reason', ''));
  end if;
  return query select r.outcome, r.job_id, r.acted, r.detail;
end $$;

create function tg_webhook_refusal_log__count() returns trigger
language plpgsql volatile as $$
begin
  perform observe_metric('tvdb_webhook_deliveries_total', jsonb_build_object('outcome', 'refused', 'reason', new.reason));
  return null;
end $$;

create trigger _200_count after insert on webhook_refusal_log
  for each row execute function tg_webhook_refusal_log__count();
