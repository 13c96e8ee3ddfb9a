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
-- (000002)
-- A note on a job's history that is not a move (a failed attempt, a LlamaParse submission, ...).
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
