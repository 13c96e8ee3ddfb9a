-- Fenced stage runs. A heartbeat says a process was alive, not that it is: a frozen worker (a
-- blocked event loop, SIGSTOP, a VM pause) can wake after its jobs were handed to another and
-- carry on. So a stage run holds a lease on (job, stage) with a fencing token that only grows:
-- while a live lease exists no other run of the stage starts; every write of the run checks its
-- token (fence_stage_run, and the ledger's trigger below), so a run that lost its lease writes
-- nothing; before a paid call the run extends its lease over the call's timeout, so nobody repeats
-- a call that may still be answered.
create or replace function tg_cost_ledger__check_lease() returns trigger
language plpgsql volatile as $$
begin
  if new.lease_token is not null and not exists (
    select 1 from stage_leases where job_id = new.job_id and token = new.lease_token
  ) then
    raise exception 'ledger row for job % carries a stale lease token %: its run lost the stage', new.job_id, new.lease_token
      using errcode = 'TV005';
  end if;
  return new;
end $$;

-- Fenced stage runs. A heartbeat says a process was alive, not that it is: a frozen worker (a
-- blocked event loop, SIGSTOP, a VM pause) can wake after its jobs were handed to another and
-- carry on. So a stage run holds a lease on (job, stage) with a fencing token that only grows:
-- while a live lease exists no other run of the stage starts; every write of the run checks its
-- token (fence_stage_run, and the ledger's trigger below), so a run that lost its lease writes
-- nothing; before a paid call the run extends its lease over the call's timeout, so nobody repeats
-- a call that may still be answered.
create or replace trigger _200_check_lease before insert on cost_ledger
  for each row execute function tg_cost_ledger__check_lease();
