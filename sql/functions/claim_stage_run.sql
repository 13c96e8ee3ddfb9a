-- Claim a run of p_stage for a job in one statement: the job must be where the stage's task works
-- (its start or in-progress state), and no live lease may exist. Outcomes: 'claimed' (with the
-- new token), 'busy' (with the seconds the other run's lease has left), 'not_in_stage'.
create or replace function claim_stage_run(p_job_id uuid, p_stage text, p_owner text, p_lease interval)
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
