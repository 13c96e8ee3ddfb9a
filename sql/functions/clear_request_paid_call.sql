-- A request's pending call (a search query's embedding) known not to have billed: the provider
-- refused it with an answer, or it was never made.
create or replace function clear_request_paid_call(p_reservation_id bigint) returns void
language sql volatile as $$
  update budget_reservations set pending_call_micro_usd = 0, pending_call_at = null, pending_call_ref = null
  where id = p_reservation_id and request_id is not null and status = 'held';
$$;
