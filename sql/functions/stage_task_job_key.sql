-- A stage task's job key for a job: its prefix in the stage table (pipeline_tasks: a stage's task or
-- a helper task like the parse collector) and the job's id, `prefix:jobId`, so a job has at most one
-- pending task of each kind. The one spelling of the key in SQL; lib/jobs/enqueue.ts's jobKeyFor is
-- the one in TypeScript (test/stages.test.ts checks that both give the same key for every task).
-- Null for a task the stage table does not know.
create or replace function stage_task_job_key(p_task text, p_job_id uuid) returns text
language sql stable as $$
  select t.job_key_prefix || ':' || p_job_id from pipeline_tasks t where t.task = p_task;
$$;
