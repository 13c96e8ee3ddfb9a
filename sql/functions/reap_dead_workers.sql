-- Forget workers whose heartbeat is older than p_stale and unlock their jobs so surviving workers
-- run them again (handlers are idempotent). Returns the pools reaped.
create or replace function reap_dead_workers(p_stale interval) returns setof text
language plpgsql volatile as $$
declare
  v_dead text[];
begin
  with dead as (
    delete from worker_processes where heartbeat_at < now() - p_stale returning pool_id
  ) select array_agg(pool_id) into v_dead from dead;
  if v_dead is not null then
    perform graphile_worker.force_unlock_workers(v_dead);
    return query select unnest(v_dead);
  end if;
end $$;
