-- Up Migration

-- The pipeline's stages, once: the same rows as STAGES in lib/jobs/stages.ts (a test checks that
-- they agree, and that every legal move in job_state_transitions is explained by a stage). Views
-- and functions that need a stage's states, tasks or job keys join these tables instead of
-- spelling them out. A stage's states, in order: queued_from -> starts_from -> in_progress ->
-- done -> handoff_to; it fails from starts_from or in_progress into failed; a retry moves failed
-- back to retry_to and queues task again.
create table pipeline_stages (
  stage text primary key,
  position int not null unique,
  task text not null unique,
  job_key_prefix text not null unique,
  queued_from job_state,
  starts_from job_state not null,
  in_progress job_state,
  done job_state not null,
  handoff_to job_state,
  failed job_state not null unique,
  retry_to job_state not null,
  attempts_setting text not null
);
insert into pipeline_stages values
  ('parse', 1, 'job__parse', 'parse', 'uploaded', 'parse_queued', null, 'parsed', null,
   'failed_parse', 'parse_queued', 'TVDB_MAX_ATTEMPTS_PARSE'),
  ('chunk', 2, 'job__chunk', 'chunk', null, 'parsed', 'chunking', 'chunks_stored', 'embedding_queued',
   'failed_chunking', 'parsed', 'TVDB_MAX_ATTEMPTS_CHUNK'),
  ('embed', 3, 'job__embed', 'embed', null, 'embedding_queued', 'embedding_in_progress', 'embeddings_stored',
   'complete', 'failed_embedding', 'embedding_queued', 'TVDB_MAX_ATTEMPTS_EMBED');

-- Further tasks of a stage (the parse stage's collector), each with its own job key.
create table pipeline_stage_tasks (
  task text primary key,
  stage text not null references pipeline_stages (stage) on delete cascade,
  job_key_prefix text not null unique
);
insert into pipeline_stage_tasks values ('job__parse_collect', 'parse', 'collect');

-- Every task of every stage with its job key prefix.
create view pipeline_tasks as
select stage, task, job_key_prefix, true as starts_stage from pipeline_stages
union all
select stage, task, job_key_prefix, false from pipeline_stage_tasks;

-- For each non-terminal state, the stage whose task must act next (its queued, start or working
-- states first; else the stage that just finished in it). Terminal states have no row.
create view pipeline_state_owners as
select distinct on (x.state) x.state, x.stage
from (
  select stage, position, queued_from as state, 1 as rank from pipeline_stages
  union all select stage, position, starts_from, 1 from pipeline_stages
  union all select stage, position, in_progress, 1 from pipeline_stages
  union all select stage, position, done, 2 from pipeline_stages
) x
where x.state is not null
order by x.state, x.rank, x.position;

-- The moves the stages explain: along each stage's path, into its failed state, back by retry.
create view pipeline_stage_moves as
with paths as (
  select s.stage, p.state, p.ord
  from pipeline_stages s,
       unnest(array[s.queued_from, s.starts_from, s.in_progress, s.done, s.handoff_to]) with ordinality as p(state, ord)
  where p.state is not null
)
select a.stage, a.state as from_state, b.state as to_state, 'forward' as kind
from paths a
join lateral (select state from paths b where b.stage = a.stage and b.ord > a.ord order by b.ord limit 1) b on true
union all
select stage, f.state, failed, 'fail'
from pipeline_stages, unnest(array[starts_from, in_progress]) as f(state)
where f.state is not null
union all
select stage, failed, retry_to, 'retry' from pipeline_stages;

-- Success and failure states per stage, for the failure-rate function, now read from the stages.
create or replace view stage_outcome_states as
select stage, done as done_state, failed as failed_state from pipeline_stages;

create or replace view failure_summary as
select 'job_failed' as kind, to_state::text as stage, coalesce(detail ->> 'error_class', 'permanent') as error_class,
       left(detail ->> 'error', 200) as message, count(*)::int as occurrences, max(at) as last_at
from job_events
where kind = 'transition' and to_state in (select failed from pipeline_stages)
  and at > now() - interval '24 hours'
group by 2, 3, 4
union all
select 'attempt_failed', detail ->> 'stage', detail ->> 'error_class', left(detail ->> 'error', 200), count(*)::int, max(at)
from job_events
where kind = 'note' and detail ->> 'event' = 'attempt_failed' and at > now() - interval '24 hours'
group by 2, 3, 4
order by occurrences desc;

-- Jobs in a non-terminal state with no task of any stage queued, scheduled or running for them,
-- for a while: stranded (a lost task). Read through graphile-worker's public jobs view.
create or replace view stuck_jobs as
select j.id as job_id, j.state, j.file_name, j.correlation_id, now() - j.state_changed_at as in_state_for
from jobs j
where j.state in (select state from pipeline_state_owners)
  and j.state_changed_at < now() - interval '2 minutes'
  and not exists (
    select 1 from graphile_worker.jobs g
    where g.key in (select t.job_key_prefix || ':' || j.id from pipeline_tasks t)
  );

-- A webhook delivery's whole database work in one statement (one round trip): find the job by its
-- token, check the LlamaParse job id, record the delivery once per event_id, for a final event on a
-- job still waiting for its parse enqueue the parse stage's collector (coalesced per job by its job
-- key), and count the outcome for /metrics. Replaces 000010's function and 000011's wrapper.
create or replace function record_webhook_delivery(
  p_token text, p_event_id text, p_event_type text, p_llamaparse_job_id text,
  p_known boolean, p_final boolean, p_max_attempts int
) returns table (outcome text, job_id uuid, acted boolean, detail text)
language plpgsql volatile as $$
declare
  j record;
  v_outcome text;
  v_acted boolean := false;
  v_detail text;
  v_collector record;
begin
  select id, state, correlation_id, llamaparse_job_id into j from jobs where webhook_token = p_token;
  if not found then
    return query select 'unknown_token', null::uuid, false, null::text;
    return;
  end if;
  if j.llamaparse_job_id is null then
    -- The upload's answer and its first webhook race: LlamaParse will retry.
    v_outcome := 'not_recorded_yet';
    v_detail := 'the LlamaParse job id is not recorded yet';
  elsif j.llamaparse_job_id <> p_llamaparse_job_id then
    return query select 'job_mismatch', j.id, false,
      format('delivery is for %s, the job''s is another', left(p_llamaparse_job_id, 40));
    return;
  else
    insert into webhook_deliveries (event_id, event_type, llamaparse_job_id, job_id, correlation_id, known_event)
    values (p_event_id, p_event_type, p_llamaparse_job_id, j.id, j.correlation_id, p_known)
    on conflict (event_id) do nothing;
    v_outcome := case when found then 'accepted' else 'duplicate' end;
    select t.task, t.job_key_prefix, s.starts_from into v_collector
    from pipeline_stage_tasks t join pipeline_stages s using (stage)
    where t.task = 'job__parse_collect';
    if v_outcome = 'accepted' and p_final and j.state = v_collector.starts_from then
      perform graphile_worker.add_job(v_collector.task,
        json_build_object('jobId', j.id, 'correlationId', j.correlation_id, 'polls', 0),
        run_at => now(), max_attempts => p_max_attempts, job_key => v_collector.job_key_prefix || ':' || j.id,
        job_key_mode => 'replace');
      v_acted := true;
    end if;
  end if;
  perform observe_metric('tvdb_webhook_deliveries_total', jsonb_build_object(
    'outcome', case v_outcome when 'not_recorded_yet' then 'retry_later' else v_outcome end, 'reason', ''));
  return query select v_outcome, j.id, v_acted, v_detail;
end $$;

drop function record_webhook_delivery_uncounted(text, text, text, text, boolean, boolean, int);

-- Send a failed job back to the state its stage starts from and queue the stage's task with a fresh
-- attempt budget, in one transaction. p_max_attempts: attempts per stage ({"parse": 8, ...}).
-- A parse retry forgets the LlamaParse job: one that ended FAILED cannot be collected again.
create function retry_job(p_job_id uuid, p_max_attempts jsonb, p_who text default 'retry')
returns table (outcome text, from_state job_state, to_state job_state)
language plpgsql volatile as $$
declare
  j record;
  s record;
begin
  select id, state, correlation_id into j from jobs where id = p_job_id for update;
  if not found then
    return query select 'no such job', null::job_state, null::job_state;
    return;
  end if;
  select * into s from pipeline_stages where failed = j.state;
  if not found then
    return query select format('job is %s, not failed', j.state), j.state, null::job_state;
    return;
  end if;
  if s.stage = 'parse' then
    update jobs set llamaparse_job_id = null, parse_submitted_at = null, parse_resubmissions = 0 where id = j.id;
  end if;
  perform advance_job(j.id, j.state, s.retry_to, jsonb_build_object('who', p_who));
  perform graphile_worker.add_job(s.task, json_build_object('jobId', j.id, 'correlationId', j.correlation_id),
    max_attempts => (p_max_attempts ->> s.stage)::int, job_key => s.job_key_prefix || ':' || j.id,
    job_key_mode => 'replace');
  return query select 'retried', j.state, s.retry_to;
end $$;
