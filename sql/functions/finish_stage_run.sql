-- p_handoff, p_next_task: null when the stage has none. The next task is added like enqueue() in
-- lib/jobs/enqueue.ts does (its job key coalesces: one pending task per job and task).
create or replace function finish_stage_run(p_job_id uuid, p_from job_state, p_done job_state, p_handoff job_state,
                                 p_detail jsonb, p_next_task text, p_next_payload json, p_next_key text,
                                 p_next_max_attempts int)
returns text
language plpgsql volatile as $$
declare
  v_moved text;
begin
  v_moved := advance_job(p_job_id, p_from, p_done, p_detail);
  if v_moved = 'already_there' then
    return v_moved;
  end if;
  if p_handoff is not null then
    perform advance_job(p_job_id, p_done, p_handoff, '{"who": "worker"}'::jsonb);
  end if;
  if p_next_task is not null then
    perform graphile_worker.add_job(p_next_task, p_next_payload, max_attempts => p_next_max_attempts,
                                    job_key => p_next_key);
  end if;
  return v_moved;
end $$;
