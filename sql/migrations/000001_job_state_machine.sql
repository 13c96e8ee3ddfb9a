-- Up Migration

-- The pipeline's states, exactly the seed's. Order matters only for display.
create type job_state as enum (
  'uploaded', 'parse_queued', 'parsed', 'chunking', 'chunks_stored',
  'embedding_queued', 'embedding_in_progress', 'embeddings_stored', 'complete',
  'failed_parse', 'failed_chunking', 'failed_embedding'
);

-- A document's bytes, stored once per distinct content (the same bytes ingested twice share a row).
create table documents (
  id bigint generated always as identity primary key,
  sha256 bytea not null unique check (octet_length(sha256) = 32),
  byte_size bigint not null check (byte_size > 0),
  media_type text not null,
  content bytea not null,
  created_at timestamptz not null default now()
);

-- One job per ingest of a document. file_name is per job: the same bytes may arrive under two names.
create table jobs (
  id uuid primary key default gen_random_uuid(),
  document_id bigint not null references documents (id) on delete restrict,
  file_name text not null,
  state job_state not null default 'uploaded',
  correlation_id text not null check (correlation_id <> ''),
  last_error text,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  state_changed_at timestamptz not null default now()
);
create index jobs_state_idx on jobs (state, state_changed_at);
create index jobs_document_idx on jobs (document_id);
create index jobs_correlation_idx on jobs (correlation_id);

-- Every legal move, and nothing else. The trigger below refuses any pair not listed here.
create table job_state_transitions (
  from_state job_state not null,
  to_state job_state not null,
  primary key (from_state, to_state),
  check (from_state <> to_state)
);
insert into job_state_transitions (from_state, to_state) values
  -- the seed's forward path
  ('uploaded', 'parse_queued'),
  ('parse_queued', 'parsed'),
  ('parsed', 'chunking'),
  ('chunking', 'chunks_stored'),
  ('chunks_stored', 'embedding_queued'),
  ('embedding_queued', 'embedding_in_progress'),
  ('embedding_in_progress', 'embeddings_stored'),
  ('embeddings_stored', 'complete'),
  -- each stage fails from the states where its work happens
  ('parse_queued', 'failed_parse'),
  ('parsed', 'failed_chunking'),          -- the chunk task gave up before it could start
  ('chunking', 'failed_chunking'),
  ('embedding_queued', 'failed_embedding'),
  ('embedding_in_progress', 'failed_embedding'),
  -- retry: back to the state the stage's task picks up from
  ('failed_parse', 'parse_queued'),
  ('failed_chunking', 'parsed'),
  ('failed_embedding', 'embedding_queued');

-- Append-only history: one row per move (written by trigger, same transaction), plus notes
-- (failed attempts, waiting for budget, ...) that later stages add without moving the job.
create table job_events (
  id bigint generated always as identity primary key,
  job_id uuid not null references jobs (id) on delete restrict,
  kind text not null check (kind in ('created', 'transition', 'note')),
  from_state job_state,
  to_state job_state not null,
  correlation_id text not null,
  detail jsonb not null default '{}',
  at timestamptz not null default clock_timestamp(),
  check ((kind = 'transition') = (from_state is not null))
);
create index job_events_job_idx on job_events (job_id, id);
create index job_events_to_state_at_idx on job_events (to_state, at) where kind = 'transition';

-- Refuse an illegal move inside the transaction. SQLSTATE TV001 (class TV is ours: outside
-- 23/40/57 so slonik neither maps nor retries it).
create function tg_jobs__check_transition() returns trigger
language plpgsql volatile as $$
begin
  if tg_op = 'INSERT' then
    if new.state <> 'uploaded' then
      raise exception 'illegal job transition: job % must start in uploaded, not %', new.id, new.state
        using errcode = 'TV001', detail = format('job %s', new.id);
    end if;
    return new;
  end if;
  if new.state is distinct from old.state then
    if not exists (
      select 1 from job_state_transitions where from_state = old.state and to_state = new.state
    ) then
      raise exception 'illegal job transition % -> % for job %', old.state, new.state, old.id
        using errcode = 'TV001', detail = format('job %s', old.id),
              hint = 'legal moves are listed in job_state_transitions';
    end if;
    new.state_changed_at := clock_timestamp();
  end if;
  new.updated_at := clock_timestamp();
  return new;
end $$;

create trigger _100_check_transition before insert or update on jobs
  for each row execute function tg_jobs__check_transition();

-- Record each move. Callers pass the detail (attempt, error, who) through the transaction-local
-- setting tvdb.event_detail (advance_job does); a bare UPDATE from psql still gets who = current_user.
create function tg_jobs__record_event() returns trigger
language plpgsql volatile as $$
declare
  v_detail jsonb := coalesce(nullif(current_setting('tvdb.event_detail', true), '')::jsonb, '{}');
begin
  if not v_detail ? 'who' then
    v_detail := v_detail || jsonb_build_object('who', current_user);
  end if;
  if tg_op = 'INSERT' then
    insert into job_events (job_id, kind, from_state, to_state, correlation_id, detail)
    values (new.id, 'created', null, new.state, new.correlation_id, v_detail);
  elsif new.state is distinct from old.state then
    insert into job_events (job_id, kind, from_state, to_state, correlation_id, detail)
    values (new.id, 'transition', old.state, new.state, new.correlation_id, v_detail);
  end if;
  return null;
end $$;

create trigger _200_record_event after insert or update of state on jobs
  for each row execute function tg_jobs__record_event();

-- job_events is append-only.
create function tg_append_only() returns trigger
language plpgsql volatile as $$
begin
  raise exception '% is append-only: % refused', tg_table_name, tg_op
    using errcode = 'TV003';
end $$;

create trigger _100_append_only before update or delete on job_events
  for each row execute function tg_append_only();
create trigger _101_append_only_truncate before truncate on job_events
  for each statement execute function tg_append_only();

-- Advance a job idempotently: compare-and-set from p_from. Returns 'moved', or 'already_there'
-- when the job is already in p_to (a re-run after a crash: no second event). Any other state is
-- refused with TV002; an unknown job with TV004.
create function advance_job(p_job_id uuid, p_from job_state, p_to job_state, p_detail jsonb default '{}')
returns text
language plpgsql volatile as $$
declare
  v_state job_state;
begin
  select state into v_state from jobs where id = p_job_id for update;
  if not found then
    raise exception 'job % does not exist', p_job_id using errcode = 'TV004';
  end if;
  if v_state = p_to then
    return 'already_there';
  end if;
  if v_state <> p_from then
    raise exception 'job % is in state %, not % (asked to move it to %)', p_job_id, v_state, p_from, p_to
      using errcode = 'TV002', detail = format('job %s', p_job_id);
  end if;
  perform set_config('tvdb.event_detail', coalesce(p_detail, '{}')::text, true);
  update jobs set state = p_to,
    last_error = case when p_to::text like 'failed_%' then coalesce(p_detail ->> 'error', last_error) else last_error end
  where id = p_job_id;
  perform set_config('tvdb.event_detail', '', true);
  return 'moved';
end $$;

-- A job's history with the time it spent in each state (the current state: time so far).
create view job_timeline as
select
  e.job_id,
  e.id as event_id,
  e.kind,
  e.from_state,
  e.to_state as state,
  e.at as entered_at,
  case when e.kind = 'note' then null
       else coalesce((select min(n.at) from job_events n
                      where n.job_id = e.job_id and n.id > e.id and n.kind <> 'note'), now()) - e.at
  end as time_in_state,
  e.correlation_id,
  e.detail
from job_events e;

-- Jobs per state, the oldest job's age in each state, and throughput into each state.
create view pipeline_health as
select
  s.state,
  coalesce(j.jobs, 0) as jobs,
  j.oldest_age,
  coalesce(t.entered_5m, 0) as entered_last_5m,
  coalesce(t.entered_60m, 0) as entered_last_60m
from unnest(enum_range(null::job_state)) with ordinality as s(state, ord)
left join (
  select state, count(*) as jobs, now() - min(state_changed_at) as oldest_age
  from jobs group by state
) j on j.state = s.state
left join (
  select to_state,
         count(*) filter (where at > now() - interval '5 minutes') as entered_5m,
         count(*) as entered_60m
  from job_events
  where kind = 'transition' and at > now() - interval '60 minutes'
  group by to_state
) t on t.to_state = s.state
order by s.ord;
