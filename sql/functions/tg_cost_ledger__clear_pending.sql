-- A ledger row against a reservation records its call: nothing is pending any more.
create or replace function tg_cost_ledger__clear_pending() returns trigger
language plpgsql volatile as $$
begin
  if new.reservation_id is not null then
    update budget_reservations set pending_call_micro_usd = 0, pending_call_at = null
    where id = new.reservation_id and pending_call_micro_usd > 0;
  end if;
  return new;
end $$;

-- Budgets as true upper bounds (issue 15).
--
-- A reservation records the paid call in flight against it (pending_call_micro_usd: the most that
-- call can bill) from just before the call until its ledger row is written (a trigger clears it).
-- A call that was started but never recorded (its process died after the provider answered) is
-- charged as an `estimated` ledger row at that amount: when a new run takes the reservation over,
-- when the stage gives up, or when the reservation expires. Until then it keeps holding the budget,
-- expired or not.
create or replace trigger _300_clear_pending after insert on cost_ledger
  for each row execute function tg_cost_ledger__clear_pending();
