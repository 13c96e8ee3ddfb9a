-- Close a reservation: what the ledger charged against it stands; the rest is released.
create or replace function settle_reservation(p_reservation_id bigint) returns void
language sql volatile as $$
  update budget_reservations set status = 'settled', settled_at = now() where id = p_reservation_id and status = 'held';
$$;
