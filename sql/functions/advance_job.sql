-- advance_job as the owner: the only way a job's state moves (the application role may not update
-- jobs.state). Same contract as before (000001), plus the detail's validation (SQLSTATE 22023).
--
-- Before 000072:
-- Advance a job idempotently: compare-and-set from p_from. Returns 'moved', or 'already_there'
-- when the job is already in p_to (a re-run after a crash: no second event). Any other state is
-- refused with TV002; an unknown job with TV004.
create or replace function advance_job(p_job_id uuid, p_from job_state, p_to job_state, p_detail jsonb default '{}')
returns text
language plpgsql volatile security definer set search_path = public, pg_temp as $$
declare
  v_state job_state;
  v_problem text := event_detail_problem(p_to, p_detail);
begin
  if v_problem is not null then
    raise exception 'advance_job: %', v_problem using errcode = '22023';
  end if;
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
