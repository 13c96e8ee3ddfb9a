-- The stranded job's last task error, when graphile-worker kept a failed task for it. A task whose
-- worker died in every attempt has no error recorded: say so rather than return nothing.
create or replace function stranded_task_error(p_job_id uuid) returns text
language sql stable as $$
  select coalesce(g.last_error, format('no error recorded: the worker running it stopped in each of its %s attempts', g.attempts))
  from graphile_worker.jobs g
  where g.key in (select stage_task_job_key(t.task, p_job_id) from pipeline_tasks t) and g.attempts >= g.max_attempts
  order by g.updated_at desc limit 1;
$$;
