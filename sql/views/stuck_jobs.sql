-- Stranded jobs, now including those whose task can never run again: a graphile job whose
-- attempts are exhausted (graphile-worker keeps it, failed for good) does not count as a task.
-- test: attempts >= max_attempts means no further attempt will be made.
--
-- What the migrations that defined it earlier said (still true unless said otherwise above):
-- (000007)
-- Jobs in a non-terminal state with no task queued, scheduled or running for them, for a while:
-- stranded (a lost task). The reconciler re-enqueues them; operators see them here.
-- (000012)
-- Jobs in a non-terminal state with no task of any stage queued, scheduled or running for them,
-- for a while: stranded (a lost task). Read through graphile-worker's public jobs view.
create or replace view stuck_jobs as
select j.id as job_id, j.state, j.file_name, j.correlation_id, now() - j.state_changed_at as in_state_for
from jobs j
where j.state in (select state from pipeline_state_owners)
  and j.state_changed_at < now() - interval '2 minutes'
  and not exists (
    select 1 from graphile_worker.jobs g
    where g.key in (select stage_task_job_key(t.task, j.id) from pipeline_tasks t)
      and g.attempts < g.max_attempts
  );
