-- First statement of every write transaction of a stage run: locks the lease row (a concurrent
-- claim waits for this transaction) and refuses a stale token with SQLSTATE TV005.
create or replace function fence_stage_run(p_job_id uuid, p_stage text, p_token bigint)
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
