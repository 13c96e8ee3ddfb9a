-- Up Migration

-- Live worker processes (one row per graphile-worker pool), with a heartbeat. graphile-worker only
-- unlocks a crashed worker's jobs after 4 hours; we unlock them as soon as its heartbeat is stale.
create table worker_processes (
  pool_id text primary key,
  host text not null,
  pid int not null,
  started_at timestamptz not null default now(),
  heartbeat_at timestamptz not null default now()
);

-- Forget workers whose heartbeat is older than p_stale and unlock their jobs so surviving workers
-- run them again (handlers are idempotent). Returns the pools reaped.
create function reap_dead_workers(p_stale interval) returns setof text
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

-- Jobs in a non-terminal state with no task queued, scheduled or running for them, for a while:
-- stranded (a lost task). The reconciler re-enqueues them; operators see them here.
create view stuck_jobs as
select j.id as job_id, j.state, j.file_name, j.correlation_id, now() - j.state_changed_at as in_state_for
from jobs j
where j.state not in ('complete', 'failed_parse', 'failed_chunking', 'failed_embedding')
  and j.state_changed_at < now() - interval '2 minutes'
  and not exists (
    select 1 from graphile_worker._private_jobs g
    where g.key in ('parse:' || j.id, 'collect:' || j.id, 'chunk:' || j.id, 'embed:' || j.id)
  );
