-- The queue per task: waiting (due now), scheduled (later), running (locked), retrying (failed
-- before and due again), permanently failed.
create or replace view queue_depth as
select task_identifier as task,
       count(*) filter (where locked_at is null and run_at <= now() and attempts < max_attempts)::int as waiting,
       count(*) filter (where locked_at is null and run_at > now() and attempts = 0)::int as scheduled,
       count(*) filter (where locked_at is not null)::int as running,
       count(*) filter (where locked_at is null and attempts > 0 and attempts < max_attempts)::int as retrying,
       count(*) filter (where attempts >= max_attempts)::int as failed
from graphile_worker.jobs group by task_identifier order by task_identifier;
