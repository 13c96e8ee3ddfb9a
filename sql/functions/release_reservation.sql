-- The stage gave up (or its paid call failed for good): release the hold now, not at its expiry.
-- A call still pending (its answer never came) is charged as estimated first.
create or replace function release_reservation(p_job_id uuid, p_stage text) returns void
language plpgsql volatile as $$
declare
  v_id bigint;
begin
  for v_id in select id from budget_reservations where job_id = p_job_id and stage = p_stage and status = 'held' for update
  loop
    perform charge_pending_call(v_id, 'the stage gave up with its paid call unrecorded');
    update budget_reservations set status = 'released', settled_at = now() where id = v_id;
  end loop;
end $$;
