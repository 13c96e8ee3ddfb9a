-- The application role's privileges, granted by `tvdb migrate` after every migration run (so
-- tables added later are covered): everything in our schema and graphile-worker's, less what it
-- must not write. A new table is writable by the application unless it is listed below.
-- graphile-worker keeps row level security on its private tables (no policy: only their owner
-- reads them); the application role, which runs the workers, gets a policy of its own on each.
create or replace function grant_application_role(p_role name) returns void
language plpgsql volatile as $$
declare
  t record;
begin
  execute format('grant usage on schema public, graphile_worker to %I', p_role);
  execute format('grant select, insert, update, delete on all tables in schema public, graphile_worker to %I', p_role);
  execute format('grant usage, select on all sequences in schema public, graphile_worker to %I', p_role);
  execute format('grant execute on all functions in schema public, graphile_worker to %I', p_role);
  execute format('revoke insert, update, delete on job_events, job_state_transitions, pipeline_stages, '
                 'pipeline_stage_tasks, budget_stages, price_catalog, pgmigrations, applied_definitions, graphile_worker.migrations from %I', p_role);
  execute format('revoke update, delete on cost_ledger from %I', p_role);
  execute format('revoke execute on function grant_application_role(name) from %I', p_role);
  for t in select c.relname from pg_class c
           where c.relnamespace = 'graphile_worker'::regnamespace and c.relkind = 'r' and c.relrowsecurity
             and not exists (select 1 from pg_policy p where p.polrelid = c.oid and p.polname = 'tvdb_' || p_role) loop
    execute format('create policy %I on graphile_worker.%I to %I using (true) with check (true)',
                   'tvdb_' || p_role, t.relname, p_role);
  end loop;
end $$;

-- Nobody but its owner may grant: an application role must not hand out powers.
revoke execute on function grant_application_role(name) from public;
