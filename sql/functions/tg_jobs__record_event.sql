-- Each move's event (as 000022), except: a job's creation ignores tvdb.event_detail (nobody
-- passes one; a value there was set by someone else), and `role` is always the login role.
--
-- Before 000072:
-- Least privilege. The server, the workers and every command connect as an application role that
-- owns nothing (created by `tvdb migrate`, which runs as the owner; see README "Database roles").
-- That role may not write the history or the rules: job_events only grows through the trigger
-- below and add_job_note, both running as their owner (security definer), and only as the trigger
-- or the note allow; job_state_transitions, the stage table and the price catalog are read-only to
-- it; cost_ledger takes inserts only. Without ownership it cannot disable a trigger, and without
-- superuser it cannot set session_replication_role.
-- Each move's event, written as the function's owner. `who` is the session's login role now
-- (current_user inside a security definer function is the owner).
--
-- What the migrations that defined it earlier said (still true unless said otherwise above):
-- (000001)
-- Record each move. Callers pass the detail (attempt, error, who) through the transaction-local
-- setting tvdb.event_detail (advance_job does); a bare UPDATE from psql still gets who = current_user.
-- (000011)
-- Metrics that Prometheus scrapes from any server, kept in Postgres so that work done by workers on
-- any host is counted once and every scrape agrees: cumulative counters and histograms, one row per
-- (metric, label set, shard). Writers spread over a few shards (by backend pid) so that concurrent
-- transactions rarely wait on the same row; readers sum the shards.
create or replace function tg_jobs__record_event() returns trigger
language plpgsql volatile security definer set search_path = public, pg_temp as $$
declare
  v_detail jsonb := '{}';
  v_seconds double precision;
begin
  if tg_op = 'UPDATE' then
    v_detail := coalesce(nullif(current_setting('tvdb.event_detail', true), '')::jsonb, '{}');
  end if;
  if not v_detail ? 'who' then
    v_detail := v_detail || jsonb_build_object('who', session_user::text);
  end if;
  v_detail := v_detail || jsonb_build_object('role', session_user::text);
  if tg_op = 'INSERT' then
    insert into job_events (job_id, kind, from_state, to_state, correlation_id, detail)
    values (new.id, 'created', null, new.state, new.correlation_id, v_detail);
  elsif new.state is distinct from old.state then
    v_seconds := greatest(0, extract(epoch from new.state_changed_at - old.state_changed_at));
    insert into job_events (job_id, kind, from_state, to_state, correlation_id, detail, seconds_in_from_state)
    values (new.id, 'transition', old.state, new.state, new.correlation_id, v_detail, v_seconds);
    perform observe_metric('tvdb_stage_duration_seconds', jsonb_build_object('state', old.state), v_seconds,
                           stage_duration_bounds());
    if new.state::text like 'failed_%' then
      perform raise_alert('job_failed',
        format('job_failed:%s:%s', new.state, date_bin('15 minutes', now(), timestamptz '2000-01-01')),
        'warning',
        format('job %s (%s) entered %s: %s', new.id, new.file_name, new.state,
               coalesce(v_detail ->> 'error', new.last_error, 'no reason recorded')),
        jsonb_build_object('state', new.state, 'first_job_id', new.id, 'correlation_id', new.correlation_id,
                           'error', coalesce(v_detail ->> 'error', new.last_error)));
    end if;
  end if;
  return null;
end $$;

-- The pipeline's states, exactly the seed's. Order matters only for display.
create or replace trigger _200_record_event after insert or update of state on jobs
  for each row execute function tg_jobs__record_event();
