-- Up Migration

-- Issue 22, point 2: least privilege that holds.
-- * No view is writable by the application role (a simple view writes its base table with its
--   owner's rights): grant_application_role revokes every write on every view.
-- * A job's state, its timing and its identity are moved only by advance_job, which runs as the
--   owner and validates the detail it records; the application role may update the other columns
--   of jobs. tvdb.event_detail is still how advance_job hands the detail to the event trigger, but
--   the trigger only reads it for a move, and a move is only possible inside advance_job (which
--   sets it right before the update): a value the application sets itself is never recorded.
-- * Every event records the login role (`role`), whatever the detail says; `who` names the
--   component (worker, intake, reconciler, retry).
-- * add_job_note accepts only the notes the pipeline writes (job_note_problem).
-- * The ledger's time of record (`at`) and its reversals (reverses_ledger_id, migration 000073)
--   are not the application's to write.

-- The moves' detail: what advance_job accepts. A short text naming the problem, or null.
create function event_detail_problem(p_to job_state, p_detail jsonb) returns text
language plpgsql immutable as $$
declare
  k text;
  v jsonb;
begin
  if p_detail is null then
    return null;
  end if;
  if jsonb_typeof(p_detail) <> 'object' then
    return 'the detail must be a JSON object';
  end if;
  for k, v in select key, value from jsonb_each(p_detail) loop
    case k
      when 'who' then
        if jsonb_typeof(v) <> 'string' or v #>> '{}' not in ('worker', 'intake', 'reconciler', 'retry') then
          return format('who must be worker, intake, reconciler or retry, not %s', left(v::text, 40));
        end if;
      when 'role' then
        return 'role is recorded by the database (the login role), not given';
      when 'error' then
        if p_to::text not like 'failed_%' then
          return 'error is only recorded on a move into a failed state';
        end if;
        if jsonb_typeof(v) <> 'string' or length(v #>> '{}') > 4000 then
          return 'error must be a text of at most 4000 characters';
        end if;
      when 'error_class' then
        if p_to::text not like 'failed_%' or jsonb_typeof(v) <> 'string'
           or v #>> '{}' not in ('permanent', 'transient', 'out_of_credits') then
          return 'error_class must be permanent, transient or out_of_credits, on a move into a failed state';
        end if;
      when 'attempt' then
        if jsonb_typeof(v) <> 'number' or (v #>> '{}')::numeric < 1 then
          return 'attempt must be a positive number';
        end if;
      else
        if k !~ '^[a-z][a-z0-9_]{0,62}$' then
          return format('%s is not a detail field', left(k, 40));
        end if;
        -- The stages' own fields (pages, failed_pages, model, ...): any JSON value. They are facts
        -- of the move that only the pipeline knows; the audit fields above are what is checked.
        null;
    end case;
  end loop;
  return null;
end $$;

-- advance_job as the owner: the only way a job's state moves (the application role may not update
-- jobs.state). Same contract as before (000001), plus the detail's validation (SQLSTATE 22023).
create or replace function advance_job(p_job_id uuid, p_from job_state, p_to job_state, p_detail jsonb default '{}')
returns text
language plpgsql volatile security definer set search_path = public, pg_temp as $$
declare
  v_state job_state;
  v_problem text := event_detail_problem(p_to, p_detail);
begin
  if v_problem is not null then
    raise exception 'advance_job: %', v_problem using errcode = '22023';
  end if;
  select state into v_state from jobs where id = p_job_id for update;
  if not found then
    raise exception 'job % does not exist', p_job_id using errcode = 'TV004';
  end if;
  if v_state = p_to then
    return 'already_there';
  end if;
  if v_state <> p_from then
    raise exception 'job % is in state %, not % (asked to move it to %)', p_job_id, v_state, p_from, p_to
      using errcode = 'TV002', detail = format('job %s', p_job_id);
  end if;
  perform set_config('tvdb.event_detail', coalesce(p_detail, '{}')::text, true);
  update jobs set state = p_to,
    last_error = case when p_to::text like 'failed_%' then coalesce(p_detail ->> 'error', last_error) else last_error end
  where id = p_job_id;
  perform set_config('tvdb.event_detail', '', true);
  return 'moved';
end $$;

-- Each move's event (as 000022), except: a job's creation ignores tvdb.event_detail (nobody
-- passes one; a value there was set by someone else), and `role` is always the login role.
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

-- The notes the pipeline writes, each with its fields and their JSON types (a trailing ? marks an
-- optional field). Anything else is refused: an unknown kind, a missing or unknown field, a field
-- of the wrong type, a text longer than 4000 characters.
create function job_note_shapes() returns jsonb
language sql immutable as $$
  select '{
    "attempt_failed": {"stage": "string", "error_class": "string", "error": "string", "attempt?": "number",
                       "max_attempts?": "number", "next_run_at?": "string"},
    "stage_busy": {"stage": "string"},
    "waiting_for_credits": {"error": "string"},
    "budget_slowdown": {"service": "string", "share_used": "number", "delay_s": "number"},
    "waiting_for_budget": {"service": "string", "estimate_micro_usd": "number", "reason": "string"},
    "breaker_open": {"service": "string", "retry_in_s": "number"},
    "rate_limited": {"service": "string", "bucket": "string", "wait_s?": "number"},
    "reconciled": {"state": "string", "action": "string"},
    "submitted_to_llamaparse": {"llamaparse_job_id": "string", "mode": "string", "pages": "number",
                                "pages_counted_by": "string", "max_micro_usd": "number", "adopted?": "boolean"},
    "llamaparse_timeout": {"llamaparse_job_id": "string", "status": "string", "waited_s": "number", "action": "string",
                           "credits?": "number", "billed?": "boolean"},
    "llamaparse_job_abandoned": {"llamaparse_job_id": "string", "credits": "number", "estimated": "boolean",
                                 "reason": "string"},
    "llamaparse_cancelled_job_billed": {"llamaparse_job_id": "string", "credits": "number", "status": "string"},
    "unrecorded_call_charged": {"stage": "string", "service": "string", "estimate_micro_usd": "number",
                                "why": "string", "call_started_at?": "string"},
    "estimate_replaced": {"service": "string", "external_id": "string", "estimate_micro_usd": "number",
                          "billed_micro_usd": "number"}
  }'::jsonb;
$$;

create function job_note_problem(p_detail jsonb) returns text
language plpgsql immutable as $$
declare
  v_shape jsonb;
  v_event text;
  k text;
  t text;
  v jsonb;
begin
  if p_detail is null or jsonb_typeof(p_detail) <> 'object' then
    return 'a note is a JSON object';
  end if;
  v_event := p_detail ->> 'event';
  v_shape := job_note_shapes() -> v_event;
  if v_shape is null then
    return format('%s is not a note the pipeline writes', coalesce(left(v_event, 60), 'a note without an event'));
  end if;
  for k, t in select key, value #>> '{}' from jsonb_each(v_shape) loop
    if k not like '%?' and not p_detail ? k then
      return format('a %s note needs %s', v_event, k);
    end if;
  end loop;
  for k, v in select key, value from jsonb_each(p_detail) loop
    continue when k = 'event';
    t := coalesce(v_shape ->> k, v_shape ->> (k || '?'));
    if t is null then
      return format('a %s note has no field %s', v_event, left(k, 60));
    end if;
    if jsonb_typeof(v) <> t and not (jsonb_typeof(v) = 'null' and v_shape ? (k || '?')) then
      return format('%s of a %s note must be a %s', k, v_event, t);
    end if;
    if t = 'string' and length(v #>> '{}') > 4000 then
      return format('%s of a %s note is longer than 4000 characters', k, v_event);
    end if;
  end loop;
  if v_event = 'attempt_failed' then
    if not exists (select 1 from pipeline_stages where stage = p_detail ->> 'stage') then
      return format('%s is not a pipeline stage', left(p_detail ->> 'stage', 60));
    end if;
    if p_detail ->> 'error_class' not in ('transient', 'permanent', 'out_of_credits') then
      return 'error_class must be transient, permanent or out_of_credits';
    end if;
  end if;
  return null;
end $$;

create or replace function add_job_note(p_job_id uuid, p_detail jsonb) returns void
language plpgsql volatile security definer set search_path = public, pg_temp as $$
declare
  v_problem text := job_note_problem(p_detail);
begin
  if v_problem is not null then
    raise exception 'add_job_note: %', v_problem using errcode = '22023';
  end if;
  insert into job_events (job_id, kind, from_state, to_state, correlation_id, detail)
  select id, 'note', null, state, correlation_id, p_detail || jsonb_build_object('role', session_user::text)
  from jobs where id = p_job_id;
end $$;

-- The application role's privileges (000022), plus: no write on any view; jobs updatable except
-- its identity, state and timing; cost_ledger insertable except its time and its reversals.
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
                 'pipeline_stage_tasks, price_catalog, pgmigrations, graphile_worker.migrations from %I', p_role);
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
revoke execute on function grant_application_role(name) from public;
