-- Send a failed job back to the state its stage starts from and queue the stage's task with a fresh
-- attempt budget, in one transaction. p_max_attempts: attempts per stage ({"parse": 8, ...}).
-- A parse retry forgets the LlamaParse job: one that ended FAILED cannot be collected again.
create or replace function retry_job(p_job_id uuid, p_max_attempts jsonb, p_who text default 'retry')
returns table (outcome text, from_state job_state, to_state job_state)
language plpgsql volatile as $$
declare
  j record;
  s record;
begin
  select id, state, correlation_id into j from jobs where id = p_job_id for update;
  if not found then
    return query select 'no such job', null::job_state, null::job_state;
    return;
  end if;
  select * into s from pipeline_stages where failed = j.state;
  if not found then
    return query select format('job is %s, not failed', j.state), j.state, null::job_state;
    return;
  end if;
  if s.stage = 'parse' then
    update jobs set llamaparse_job_id = null, parse_submitted_at = null, parse_resubmissions = 0 where id = j.id;
  end if;
  perform advance_job(j.id, j.state, s.retry_to, jsonb_build_object('who', p_who));
  perform graphile_worker.add_job(s.task, stage_task_payload(j.id, j.correlation_id),
    max_attempts => (p_max_attempts ->> s.stage)::int, job_key => stage_task_job_key(s.task, j.id),
    job_key_mode => 'replace');
  return query select 'retried', j.state, s.retry_to;
end $$;
