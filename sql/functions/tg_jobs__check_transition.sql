-- Refuse an illegal move inside the transaction. SQLSTATE TV001 (class TV is ours: outside
-- 23/40/57 so slonik neither maps nor retries it).
create or replace function tg_jobs__check_transition() returns trigger
language plpgsql volatile as $$
begin
  if tg_op = 'INSERT' then
    if new.state <> 'uploaded' then
      raise exception 'illegal job transition: job % must start in uploaded, not %', new.id, new.state
        using errcode = 'TV001', detail = format('job %s', new.id);
    end if;
    return new;
  end if;
  if new.state is distinct from old.state then
    if not exists (
      select 1 from job_state_transitions where from_state = old.state and to_state = new.state
    ) then
      raise exception 'illegal job transition % -> % for job %', old.state, new.state, old.id
        using errcode = 'TV001', detail = format('job %s', old.id),
              hint = 'legal moves are listed in job_state_transitions';
    end if;
    new.state_changed_at := clock_timestamp();
  end if;
  new.updated_at := clock_timestamp();
  return new;
end $$;

-- The pipeline's states, exactly the seed's. Order matters only for display.
create or replace trigger _100_check_transition before insert or update on jobs
  for each row execute function tg_jobs__check_transition();
