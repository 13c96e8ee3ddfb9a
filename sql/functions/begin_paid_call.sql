-- A new pending call has no name yet. A hold that is no longer held (closed at its expiry between
-- the reservation and the call) is refused (SQLSTATE 55000): a call made without its pending mark
-- could be paid and never recorded. The run fails this attempt and reserves again.
--
-- Before 000073:
-- A run that lost its stage (frozen past its lease, then thawed) must not charge the pending call
-- of the run that took over as "unrecorded": the pending call records the lease token of the run
-- that began it, and reserve_budget takes the caller's token. A stale caller changes nothing; a
-- pending call is charged at takeover only when an earlier run began it.
--
-- What the migrations that defined it earlier said (still true unless said otherwise above):
-- (000050)
-- Before a paid call: record it as pending against its reservation (the most it can bill).
create or replace function begin_paid_call(p_reservation_id bigint, p_amount bigint, p_lease_token bigint) returns void
language plpgsql volatile as $$
begin
  update budget_reservations
  set pending_call_micro_usd = greatest(0, p_amount), pending_call_at = now(), pending_call_token = p_lease_token,
      pending_call_ref = null
  where id = p_reservation_id and status = 'held';
  if not found then
    raise exception 'budget reservation % is no longer held (it expired before its paid call began); reserve again',
      p_reservation_id using errcode = '55000';
  end if;
end $$;
