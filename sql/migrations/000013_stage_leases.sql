-- Up Migration

-- Fenced stage runs. A heartbeat says a process was alive, not that it is: a frozen worker (a
-- blocked event loop, SIGSTOP, a VM pause) can wake after its jobs were handed to another and
-- carry on. So a stage run holds a lease on (job, stage) with a fencing token that only grows:
-- while a live lease exists no other run of the stage starts; every write of the run checks its
-- token (fence_stage_run, and the ledger's trigger below), so a run that lost its lease writes
-- nothing; before a paid call the run extends its lease over the call's timeout, so nobody repeats
-- a call that may still be answered.
create sequence stage_lease_tokens;

create table stage_leases (
  job_id uuid not null references jobs (id) on delete cascade,
  stage text not null references pipeline_stages (stage) on delete cascade,
  token bigint not null unique,
  owner text not null,
  acquired_at timestamptz not null default now(),
  expires_at timestamptz not null,
  primary key (job_id, stage)
);

-- Claim a run of p_stage for a job in one statement: the job must be where the stage's task works
-- (its start or in-progress state), and no live lease may exist. Outcomes: 'claimed' (with the
-- new token), 'busy' (with the seconds the other run's lease has left), 'not_in_stage'.
create function claim_stage_run(p_job_id uuid, p_stage text, p_owner text, p_lease interval)
returns table (outcome text, token bigint, state job_state, retry_in_s double precision)
language plpgsql volatile as $$
declare
  v_state job_state;
  s pipeline_stages;
  v_token bigint;
  v_expires timestamptz;
begin
  select * into s from pipeline_stages where stage = p_stage;
  if not found then
    raise exception 'no stage %', p_stage using errcode = 'TV004';
  end if;
  -- Lock order, here and in fence_stage_run: the job row, then the lease row (a claim arriving while
  -- a run writes waits for it instead of deadlocking). No key update: inserts that reference the
  -- job (events, ledger rows) do not wait for the claim.
  select j.state into v_state from jobs j where j.id = p_job_id for no key update;
  if not found then
    raise exception 'job % does not exist', p_job_id using errcode = 'TV004';
  end if;
  if v_state is distinct from s.starts_from and v_state is distinct from s.in_progress then
    return query select 'not_in_stage', null::bigint, v_state, 0::float8;
    return;
  end if;
  insert into stage_leases as l (job_id, stage, token, owner, expires_at)
  values (p_job_id, p_stage, nextval('stage_lease_tokens'), p_owner, clock_timestamp() + p_lease)
  on conflict (job_id, stage) do update
    set token = excluded.token, owner = excluded.owner, acquired_at = clock_timestamp(), expires_at = excluded.expires_at
    where l.expires_at <= clock_timestamp()
  returning l.token into v_token;
  if v_token is null then
    select l.expires_at into v_expires from stage_leases l where l.job_id = p_job_id and l.stage = p_stage;
    return query select 'busy', null::bigint, v_state,
      greatest(0.1, extract(epoch from v_expires - clock_timestamp()))::float8;
    return;
  end if;
  return query select 'claimed', v_token, v_state, 0::float8;
end $$;

-- Keep a lease: set its expiry to now + p_for (p_at_least: never shorten it). False when the
-- token is no longer the stage's (another run took over after this one's lease ran out).
create function extend_stage_lease(p_job_id uuid, p_stage text, p_token bigint, p_for interval, p_at_least boolean default false)
returns boolean
language sql volatile as $$
  update stage_leases
  set expires_at = case when p_at_least then greatest(expires_at, clock_timestamp() + p_for) else clock_timestamp() + p_for end
  where job_id = p_job_id and stage = p_stage and token = p_token
  returning true;
$$;

-- First statement of every write transaction of a stage run: locks the lease row (a concurrent
-- claim waits for this transaction) and refuses a stale token with SQLSTATE TV005.
create function fence_stage_run(p_job_id uuid, p_stage text, p_token bigint)
returns void
language plpgsql volatile as $$
begin
  perform 1 from jobs where id = p_job_id for no key update;
  perform 1 from stage_leases where job_id = p_job_id and stage = p_stage and token = p_token for update;
  if not found then
    raise exception 'stage run of % for job % lost its lease (token %): another run has the stage', p_stage, p_job_id, p_token
      using errcode = 'TV005';
  end if;
end $$;

create function release_stage_lease(p_job_id uuid, p_stage text, p_token bigint)
returns void
language sql volatile as $$
  delete from stage_leases where job_id = p_job_id and stage = p_stage and token = p_token;
$$;

-- Ledger rows written by a stage run carry its token; a stale one is refused in SQL, so a run that
-- lost its lease can never bill. (Rows without a token: charges recorded outside a run, such as a
-- cancelled orphan LlamaParse job.)
alter table cost_ledger add column lease_token bigint;

create function tg_cost_ledger__check_lease() returns trigger
language plpgsql volatile as $$
begin
  if new.lease_token is not null and not exists (
    select 1 from stage_leases where job_id = new.job_id and token = new.lease_token
  ) then
    raise exception 'ledger row for job % carries a stale lease token %: its run lost the stage', new.job_id, new.lease_token
      using errcode = 'TV005';
  end if;
  return new;
end $$;
create trigger _200_check_lease before insert on cost_ledger
  for each row execute function tg_cost_ledger__check_lease();

-- Circuit breakers: a probe is a slot that expires. Before, a probe was released only by
-- breaker_record; a probing process that died left the breaker half-open and full for ever.
create table circuit_breaker_probes (
  id bigint generated always as identity primary key,
  service text not null references circuit_breakers (service) on delete cascade,
  expires_at timestamptz not null
);
alter table circuit_breakers drop column probes_in_flight;

drop function breaker_acquire(text, interval, int);
drop function breaker_record(text, text, boolean, int, int, text);

-- May a call to p_service go ahead? 'allow' (closed), 'probe' (half-open trial: a probe slot that
-- lapses after p_probe_ttl, the call's timeout plus a margin), or 'deny' with the seconds until the
-- next try. Expired probe slots are dropped first, so a dead prober frees its slot by itself.
create function breaker_acquire(p_service text, p_cooldown interval, p_max_probes int, p_probe_ttl interval)
returns table (decision text, retry_in_s double precision, probe_id bigint)
language plpgsql volatile as $$
declare
  b circuit_breakers;
  v_probe bigint;
  v_next timestamptz;
begin
  select * into b from circuit_breakers where service = p_service for update;
  delete from circuit_breaker_probes where service = p_service and expires_at <= clock_timestamp();
  if b.state = 'closed' then
    return query select 'allow', 0::float8, null::bigint;
    return;
  end if;
  if b.state = 'open' and b.opened_at + p_cooldown <= now() then
    perform set_config('tvdb.breaker_reason', 'cool-down over: probing', true);
    update circuit_breakers set state = 'half_open', probe_successes = 0 where service = p_service;
    b.state := 'half_open';
  end if;
  if b.state = 'half_open' and (select count(*) from circuit_breaker_probes where service = p_service) < p_max_probes then
    insert into circuit_breaker_probes (service, expires_at) values (p_service, clock_timestamp() + p_probe_ttl)
    returning id into v_probe;
    return query select 'probe', 0::float8, v_probe;
    return;
  end if;
  if b.state = 'half_open' then
    select min(expires_at) into v_next from circuit_breaker_probes where service = p_service;
  else
    v_next := b.opened_at + p_cooldown;
  end if;
  return query select 'deny', greatest(1, extract(epoch from (coalesce(v_next, now()) - now())))::float8, null::bigint;
end $$;

-- Record a call's outcome: 'success', 'transient' or 'permanent'; a probe gives its slot back.
create function breaker_record(p_service text, p_outcome text, p_probe_id bigint, p_threshold int, p_probes_needed int, p_reason text default '')
returns void
language plpgsql volatile as $$
declare
  b circuit_breakers;
  v_probe boolean := false;
begin
  select * into b from circuit_breakers where service = p_service for update;
  perform set_config('tvdb.breaker_reason', p_reason, true);
  if p_probe_id is not null then
    delete from circuit_breaker_probes where id = p_probe_id;
    v_probe := found or b.state = 'half_open';
  end if;
  if p_outcome = 'transient' then
    if b.state = 'half_open' then
      delete from circuit_breaker_probes where service = p_service;
      update circuit_breakers set state = 'open', opened_at = now(), probe_successes = 0 where service = p_service;
    elsif b.state = 'closed' then
      update circuit_breakers set consecutive_failures = consecutive_failures + 1,
        state = case when consecutive_failures + 1 >= p_threshold then 'open' else 'closed' end,
        opened_at = case when consecutive_failures + 1 >= p_threshold then now() else opened_at end
      where service = p_service;
    end if;
  else
    -- A success, or a permanent error (the service answered): it counts for the service.
    if b.state = 'half_open' and v_probe then
      update circuit_breakers set probe_successes = probe_successes + 1,
        state = case when probe_successes + 1 >= p_probes_needed then 'closed' else 'half_open' end,
        consecutive_failures = 0
      where service = p_service;
    elsif b.state = 'closed' and b.consecutive_failures > 0 then
      update circuit_breakers set consecutive_failures = 0 where service = p_service;
    end if;
  end if;
end $$;

-- tvdb breaker reset <service>: an operator closes a breaker (recorded as such).
create function reset_breaker(p_service text, p_who text) returns text
language plpgsql volatile as $$
declare
  v_from text;
begin
  select state into v_from from circuit_breakers where service = p_service for update;
  if not found then
    raise exception 'no circuit breaker for %', p_service using errcode = 'TV004';
  end if;
  perform set_config('tvdb.breaker_reason', format('reset by %s', p_who), true);
  delete from circuit_breaker_probes where service = p_service;
  update circuit_breakers set state = 'closed', consecutive_failures = 0, opened_at = null, probe_successes = 0
  where service = p_service;
  return v_from;
end $$;

-- Stranded jobs, now including those whose task can never run again: a graphile job whose
-- attempts are exhausted (graphile-worker keeps it, failed for good) does not count as a task.
-- test: attempts >= max_attempts means no further attempt will be made.
create or replace view stuck_jobs as
select j.id as job_id, j.state, j.file_name, j.correlation_id, now() - j.state_changed_at as in_state_for
from jobs j
where j.state in (select state from pipeline_state_owners)
  and j.state_changed_at < now() - interval '2 minutes'
  and not exists (
    select 1 from graphile_worker.jobs g
    where g.key in (select t.job_key_prefix || ':' || j.id from pipeline_tasks t)
      and g.attempts < g.max_attempts
  );

-- The stranded job's last task error, when graphile-worker kept a failed task for it. A task whose
-- worker died in every attempt has no error recorded: say so rather than return nothing.
create function stranded_task_error(p_job_id uuid) returns text
language sql stable as $$
  select coalesce(g.last_error, format('no error recorded: the worker running it stopped in each of its %s attempts', g.attempts))
  from graphile_worker.jobs g
  where g.key in (select t.job_key_prefix || ':' || p_job_id from pipeline_tasks t) and g.attempts >= g.max_attempts
  order by g.updated_at desc limit 1;
$$;
