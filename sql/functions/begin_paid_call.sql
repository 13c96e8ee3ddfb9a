-- A run that lost its stage (frozen past its lease, then thawed) must not charge the pending call
-- of the run that took over as "unrecorded": the pending call records the lease token of the run
-- that began it, and reserve_budget takes the caller's token. A stale caller changes nothing; a
-- pending call is charged at takeover only when an earlier run began it.
--
-- What the migrations that defined it earlier said (still true unless said otherwise above):
-- (000050)
-- Before a paid call: record it as pending against its reservation (the most it can bill).
create or replace function begin_paid_call(p_reservation_id bigint, p_amount bigint, p_lease_token bigint) returns void
language sql volatile as $$
  update budget_reservations
  set pending_call_micro_usd = greatest(0, p_amount), pending_call_at = now(), pending_call_token = p_lease_token
  where id = p_reservation_id and status = 'held';
$$;
