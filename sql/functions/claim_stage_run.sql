-- (000080) With the claiming process (p_domain, p_pid, p_pid_start; null: a holder nobody can
-- check, such as a test), and for 'busy' the holder of the live lease, so the claimant can check it
-- on the spot: a stage lease held by a process known to be dead is released at once
-- (release_dead_process).
-- Claim a run of p_stage for a job in one statement: the job must be where the stage's task works
-- (its start or in-progress state), and no live lease may exist. Outcomes: 'claimed' (with the
-- new token), 'busy' (with the seconds the other run's lease has left), 'not_in_stage'.
create or replace function claim_stage_run(p_job_id uuid, p_stage text, p_owner text, p_lease interval,
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
