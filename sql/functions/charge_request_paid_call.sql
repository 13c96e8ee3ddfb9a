-- A request's call whose outcome is unknown (timed out, connection lost): charged as estimated now
-- and the hold closed.
create or replace function charge_request_paid_call(p_reservation_id bigint, p_why text) returns bigint
language plpgsql volatile as $$
declare
  v_charged bigint;
begin
  if not exists (select 1 from budget_reservations where id = p_reservation_id and request_id is not null) then
    return 0;
  end if;
  v_charged := charge_pending_call(p_reservation_id, p_why);
  update budget_reservations set status = 'released', settled_at = now() where id = p_reservation_id and status = 'held';
  return v_charged;
end $$;
