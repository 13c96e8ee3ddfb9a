-- A process of p_domain found p_pid (started at p_pid_start) gone: its stage leases end now and
-- its worker pools are forgotten and their graphile jobs unlocked. Returns what was released.
create or replace function release_dead_process(p_domain text, p_pid int, p_pid_start text)
returns table (leases int, pools text[])
language plpgsql volatile as $$
declare
  v_leases int;
  v_pools text[];
begin
  delete from stage_leases
  where holder_domain = p_domain and holder_pid = p_pid and holder_pid_start = p_pid_start;
  get diagnostics v_leases = row_count;
  with dead as (
    delete from worker_processes w
    where w.domain = p_domain and w.pid = p_pid and w.pid_start = p_pid_start returning w.pool_id
  ) select array_agg(pool_id) into v_pools from dead;
  if v_pools is not null then
    perform graphile_worker.force_unlock_workers(v_pools);
  end if;
  return query select v_leases, coalesce(v_pools, '{}'::text[]);
end $$;
