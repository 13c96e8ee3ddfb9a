-- The processes of a domain that hold a stage lease or a worker pool, but for p_self_pid: what a
-- process of that domain checks for liveness.
create or replace function processes_in_domain(p_domain text, p_self_pid int)
returns table (pid int, pid_start text)
language sql stable as $$
  select holder_pid, holder_pid_start from stage_leases
  where holder_domain = p_domain and holder_pid <> p_self_pid and holder_pid_start is not null
  union
  select w.pid, w.pid_start from worker_processes w
  where w.domain = p_domain and w.pid <> p_self_pid and w.pid_start is not null;
$$;
