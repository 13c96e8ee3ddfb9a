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
create or replace function event_detail_problem(p_to job_state, p_detail jsonb) returns text
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
