-- Issue 17: fewer round trips per stage task. A stage's begin (fence the run's lease, move the job
-- to its in-progress state) is one statement instead of a transaction of four; its finish (the
-- done move, the handoff move, the next stage's task) one call inside the run's write transaction
-- instead of three. The moves are still advance_job's, so the transition table, the events and the
-- triggers see exactly what they saw before.
create or replace function begin_stage_run(p_job_id uuid, p_stage text, p_token bigint, p_from job_state, p_to job_state,
                                p_detail jsonb)
returns text
language plpgsql volatile as $$
begin
  perform fence_stage_run(p_job_id, p_stage, p_token);
  return advance_job(p_job_id, p_from, p_to, p_detail);
end $$;
