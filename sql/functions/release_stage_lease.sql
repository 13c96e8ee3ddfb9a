-- Fenced stage runs. A heartbeat says a process was alive, not that it is: a frozen worker (a
-- blocked event loop, SIGSTOP, a VM pause) can wake after its jobs were handed to another and
-- carry on. So a stage run holds a lease on (job, stage) with a fencing token that only grows:
-- while a live lease exists no other run of the stage starts; every write of the run checks its
-- token (fence_stage_run, and the ledger's trigger below), so a run that lost its lease writes
-- nothing; before a paid call the run extends its lease over the call's timeout, so nobody repeats
-- a call that may still be answered.
create or replace function release_stage_lease(p_job_id uuid, p_stage text, p_token bigint)
returns void
language sql volatile as $$
  delete from stage_leases where job_id = p_job_id and stage = p_stage and token = p_token;
$$;
