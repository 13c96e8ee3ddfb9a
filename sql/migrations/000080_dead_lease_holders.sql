-- Up Migration

-- A stage lease held by a process known to be dead is released at once (issue 22). A process is
-- named by where its pid means something (`domain`: the kernel's boot id and the pid namespace, so
-- two containers sharing a host name never judge each other's pids), its pid, and its start time
-- (field 22 of /proc/<pid>/stat, against pid reuse). Only a process in the same domain can tell
-- that a pid is gone; a frozen (SIGSTOPped) process still exists, so its lease stays.
alter table worker_processes
  add column domain text,
  add column pid_start text;

alter table stage_leases
  add column holder_domain text,
  add column holder_pid int,
  add column holder_pid_start text;

create index stage_leases_holder on stage_leases (holder_domain, holder_pid) where holder_domain is not null;

-- claim_stage_run with the claiming process (null: a holder nobody can check, such as a test), and
-- for 'busy' the holder of the live lease, so the claimant can check it on the spot.
drop function if exists claim_stage_run(uuid, text, text, interval);
