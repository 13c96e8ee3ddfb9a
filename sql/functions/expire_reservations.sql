-- Close expired holds: an unrecorded call is charged (estimated), then the hold ends.
create or replace function expire_reservations() returns int
language plpgsql volatile as $$
declare
  v_id bigint;
  v_n int := 0;
begin
  for v_id in
    select id from budget_reservations where status = 'held' and expires_at <= now() order by id for update skip locked
  loop
    perform charge_pending_call(v_id, 'the reservation expired with its paid call unrecorded');
    update budget_reservations set status = 'expired' where id = v_id;
    v_n := v_n + 1;
  end loop;
  return v_n;
end $$;
