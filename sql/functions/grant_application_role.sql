-- The application role's privileges (000022), plus: no write on any view; jobs updatable except
-- its identity, state and timing; cost_ledger insertable except its time and its reversals.
--
-- Before 000072:
-- The application role's privileges, granted by `tvdb migrate` after every migration run (so
-- tables added later are covered): everything in our schema and graphile-worker's, less what it
-- must not write. A new table is writable by the application unless it is listed below.
-- graphile-worker keeps row level security on its private tables (no policy: only their owner
-- reads them); the application role, which runs the workers, gets a policy of its own on each.
create or replace function grant_application_role(p_role name) returns void
language plpgsql volatile as $$
declare
  t record;
  v_cols text;
begin
  execute format('grant usage on schema public, graphile_worker to %I', p_role);
  execute format('grant select, insert, update, delete on all tables in schema public, graphile_worker to %I', p_role);
  execute format('grant usage, select on all sequences in schema public, graphile_worker to %I', p_role);
  execute format('grant execute on all functions in schema public, graphile_worker to %I', p_role);
  execute format('revoke insert, update, delete on job_events, job_state_transitions, pipeline_stages, '
                 'pipeline_stage_tasks, budget_stages, price_catalog, pgmigrations, applied_definitions, graphile_worker.migrations from %I', p_role);
  execute format('revoke update, delete on cost_ledger from %I', p_role);
  execute format('revoke execute on function grant_application_role(name) from %I', p_role);
  -- Views: read only, every one of them (and any added later, at the next migrate).
  for t in select n.nspname, c.relname from pg_class c join pg_namespace n on n.oid = c.relnamespace
           where n.nspname in ('public', 'graphile_worker') and c.relkind in ('v', 'm') loop
    execute format('revoke insert, update, delete, truncate on %I.%I from %I', t.nspname, t.relname, p_role);
  end loop;
  -- jobs: the state moves through advance_job only; identity and timing are the database's.
  select string_agg(quote_ident(attname), ', ' order by attnum) into v_cols from pg_attribute
  where attrelid = 'public.jobs'::regclass and attnum > 0 and not attisdropped
    and attname not in ('id', 'state', 'state_changed_at', 'created_at', 'updated_at', 'correlation_id');
  execute format('revoke update on jobs from %I', p_role);
  execute format('grant update (%s) on jobs to %I', v_cols, p_role);
  -- cost_ledger: a row's time of record is now(); reversals are written by the ledger's trigger.
  select string_agg(quote_ident(attname), ', ' order by attnum) into v_cols from pg_attribute
  where attrelid = 'public.cost_ledger'::regclass and attnum > 0 and not attisdropped
    and attname not in ('id', 'at', 'reverses_ledger_id');
  execute format('revoke insert on cost_ledger from %I', p_role);
  execute format('grant insert (%s) on cost_ledger to %I', v_cols, p_role);
  for t in select c.relname from pg_class c
           where c.relnamespace = 'graphile_worker'::regnamespace and c.relkind = 'r' and c.relrowsecurity
             and not exists (select 1 from pg_policy p where p.polrelid = c.oid and p.polname = 'tvdb_' || p_role) loop
    execute format('create policy %I on graphile_worker.%I to %I using (true) with check (true)',
                   'tvdb_' || p_role, t.relname, p_role);
  end loop;
end $$;

-- Nobody but its owner may grant: an application role must not hand out powers.
revoke execute on function grant_application_role(name) from public;
