-- Move a job to a failed state from wherever its stage left it (the transition table still decides
-- whether that is legal). Returns 'moved' or 'already_there'.
create or replace function fail_job(p_job_id uuid, p_failed_state job_state, p_detail jsonb) returns text
language plpgsql volatile as $$
declare
  v_state job_state;
begin
  select state into v_state from jobs where id = p_job_id for update;
  if not found then
    raise exception 'job % does not exist', p_job_id using errcode = 'TV004';
  end if;
  return advance_job(p_job_id, v_state, p_failed_state, p_detail);
end $$;
