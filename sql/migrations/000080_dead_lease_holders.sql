-- Up Migration

-- A stage lease held by a process known to be dead is released at once (issue 22). A process is
-- named by where its pid means something (`domain`: the kernel's boot id and the pid namespace, so
-- two containers sharing a host name never judge each other's pids), its pid, and its start time
-- (field 22 of /proc/<pid>/stat, against pid reuse). Only a process in the same domain can tell
-- that a pid is gone; a frozen (SIGSTOPped) process still exists, so its lease stays.
alter table worker_processes
  add column domain text,
  add column pid_start text;

alter table stage_leases
  add column holder_domain text,
  add column holder_pid int,
  add column holder_pid_start text;

create index stage_leases_holder on stage_leases (holder_domain, holder_pid) where holder_domain is not null;

-- claim_stage_run with the claiming process (null: a holder nobody can check, such as a test), and
-- for 'busy' the holder of the live lease, so the claimant can check it on the spot.
drop function claim_stage_run(uuid, text, text, interval);
create function claim_stage_run(p_job_id uuid, p_stage text, p_owner text, p_lease interval,
  p_domain text default null, p_pid int default null, p_pid_start text default null)
returns table (outcome text, token bigint, state job_state, retry_in_s double precision,
  holder_domain text, holder_pid int, holder_pid_start text)
language plpgsql volatile as $$
declare
  v_state job_state;
  s pipeline_stages;
  v_token bigint;
  l stage_leases;
begin
  select * into s from pipeline_stages p where p.stage = p_stage;
  if not found then
    raise exception 'no stage %', p_stage using errcode = 'TV004';
  end if;
  -- Lock order, here and in fence_stage_run: the job row, then the lease row.
  select j.state into v_state from jobs j where j.id = p_job_id for no key update;
  if not found then
    raise exception 'job % does not exist', p_job_id using errcode = 'TV004';
  end if;
  if v_state is distinct from s.starts_from and v_state is distinct from s.in_progress then
    return query select 'not_in_stage', null::bigint, v_state, 0::float8, null::text, null::int, null::text;
    return;
  end if;
  insert into stage_leases as sl (job_id, stage, token, owner, expires_at, holder_domain, holder_pid, holder_pid_start)
  values (p_job_id, p_stage, nextval('stage_lease_tokens'), p_owner, clock_timestamp() + p_lease, p_domain, p_pid, p_pid_start)
  on conflict (job_id, stage) do update
    set token = excluded.token, owner = excluded.owner, acquired_at = clock_timestamp(), expires_at = excluded.expires_at,
        holder_domain = excluded.holder_domain, holder_pid = excluded.holder_pid, holder_pid_start = excluded.holder_pid_start
    where sl.expires_at <= clock_timestamp()
  returning sl.token into v_token;
  if v_token is null then
    select * into l from stage_leases sl where sl.job_id = p_job_id and sl.stage = p_stage;
    return query select 'busy', null::bigint, v_state,
      greatest(0.1, extract(epoch from l.expires_at - clock_timestamp()))::float8,
      l.holder_domain, l.holder_pid, l.holder_pid_start;
    return;
  end if;
  return query select 'claimed', v_token, v_state, 0::float8, null::text, null::int, null::text;
end $$;

-- The processes of a domain that hold a stage lease or a worker pool, but for p_self_pid: what a
-- process of that domain checks for liveness.
create function processes_in_domain(p_domain text, p_self_pid int)
returns table (pid int, pid_start text)
language sql stable as $$
  select holder_pid, holder_pid_start from stage_leases
  where holder_domain = p_domain and holder_pid <> p_self_pid and holder_pid_start is not null
  union
  select w.pid, w.pid_start from worker_processes w
  where w.domain = p_domain and w.pid <> p_self_pid and w.pid_start is not null;
$$;

-- A process of p_domain found p_pid (started at p_pid_start) gone: its stage leases end now and
-- its worker pools are forgotten and their graphile jobs unlocked. Returns what was released.
create function release_dead_process(p_domain text, p_pid int, p_pid_start text)
returns table (leases int, pools text[])
language plpgsql volatile as $$
declare
  v_leases int;
  v_pools text[];
begin
  delete from stage_leases
  where holder_domain = p_domain and holder_pid = p_pid and holder_pid_start = p_pid_start;
  get diagnostics v_leases = row_count;
  with dead as (
    delete from worker_processes w
    where w.domain = p_domain and w.pid = p_pid and w.pid_start = p_pid_start returning w.pool_id
  ) select array_agg(pool_id) into v_pools from dead;
  if v_pools is not null then
    perform graphile_worker.force_unlock_workers(v_pools);
  end if;
  return query select v_leases, coalesce(v_pools, '{}'::text[]);
end $$;
