-- Up Migration

-- Least privilege. The server, the workers and every command connect as an application role that
-- owns nothing (created by `tvdb migrate`, which runs as the owner; see README "Database roles").
-- That role may not write the history or the rules: job_events only grows through the trigger
-- below and add_job_note, both running as their owner (security definer), and only as the trigger
-- or the note allow; job_state_transitions, the stage table and the price catalog are read-only to
-- it; cost_ledger takes inserts only. Without ownership it cannot disable a trigger, and without
-- superuser it cannot set session_replication_role.

-- Each move's event, written as the function's owner. `who` is the session's login role now
-- (current_user inside a security definer function is the owner).
create or replace function tg_jobs__record_event() returns trigger
language plpgsql volatile security definer set search_path = public, pg_temp as $$
declare
  v_detail jsonb := coalesce(nullif(current_setting('tvdb.event_detail', true), '')::jsonb, '{}');
  v_seconds double precision;
begin
  if not v_detail ? 'who' then
    v_detail := v_detail || jsonb_build_object('who', session_user::text);
  end if;
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


create or replace function add_job_note(p_job_id uuid, p_detail jsonb) returns void
language sql volatile security definer set search_path = public, pg_temp as $$
  insert into job_events (job_id, kind, from_state, to_state, correlation_id, detail)
  select id, 'note', null, state, correlation_id, p_detail from jobs where id = p_job_id;
$$;

-- The application role's privileges, granted by `tvdb migrate` after every migration run (so
-- tables added later are covered): everything in our schema and graphile-worker's, less what it
-- must not write. A new table is writable by the application unless it is listed below.
-- graphile-worker keeps row level security on its private tables (no policy: only their owner
-- reads them); the application role, which runs the workers, gets a policy of its own on each.
create function grant_application_role(p_role name) returns void
language plpgsql volatile as $$
declare
  t record;
begin
  execute format('grant usage on schema public, graphile_worker to %I', p_role);
  execute format('grant select, insert, update, delete on all tables in schema public, graphile_worker to %I', p_role);
  execute format('grant usage, select on all sequences in schema public, graphile_worker to %I', p_role);
  execute format('grant execute on all functions in schema public, graphile_worker to %I', p_role);
  execute format('revoke insert, update, delete on job_events, job_state_transitions, pipeline_stages, '
                 'pipeline_stage_tasks, price_catalog, pgmigrations, graphile_worker.migrations from %I', p_role);
  execute format('revoke update, delete on cost_ledger from %I', p_role);
  execute format('revoke execute on function grant_application_role(name) from %I', p_role);
  for t in select c.relname from pg_class c
           where c.relnamespace = 'graphile_worker'::regnamespace and c.relkind = 'r' and c.relrowsecurity
             and not exists (select 1 from pg_policy p where p.polrelid = c.oid and p.polname = 'tvdb_' || p_role) loop
    execute format('create policy %I on graphile_worker.%I to %I using (true) with check (true)',
                   'tvdb_' || p_role, t.relname, p_role);
  end loop;
end $$;
revoke execute on function grant_application_role(name) from public;
