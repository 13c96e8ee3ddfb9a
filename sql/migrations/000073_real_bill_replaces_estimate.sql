-- Up Migration

-- Issue 22, point 4: money recorded exactly once.
--
-- A pending call is named once the provider has told us its id (a LlamaParse upload's job id:
-- name_paid_call, in the transaction that records the submission). An unrecorded call charged as
-- an estimate (charge_pending_call) carries that name as its external_id. When the call's real bill
-- is written later (the collector, after the reservation expired while LlamaParse was parsing), a
-- ledger trigger writes a reversal of the estimate (operation estimate_replaced, the estimate
-- negated, reverses_ledger_id = the estimate's row): the ledger stays append-only and its sums hold
-- one charge, the true one. Reversals are written only by that trigger (the application role may
-- not insert reverses_ledger_id), at most once per estimate (a unique index).
alter table budget_reservations add column pending_call_ref text;

alter table cost_ledger
  add column reverses_ledger_id bigint references cost_ledger (id) on delete restrict,
  drop constraint cost_ledger_cost_micro_usd_check,
  drop constraint cost_ledger_units_check,
  add constraint cost_ledger_cost_micro_usd_check check (cost_micro_usd >= 0 or reverses_ledger_id is not null),
  add constraint cost_ledger_units_check check (units >= 0 or reverses_ledger_id is not null),
  add constraint cost_ledger_reversal_shape check (reverses_ledger_id is null or operation = 'estimate_replaced');

create unique index cost_ledger_reverses_idx on cost_ledger (reverses_ledger_id) where reverses_ledger_id is not null;

create index cost_ledger_external_idx on cost_ledger (service, external_id) where external_id is not null;

create index budget_reservations_call_ref_idx on budget_reservations (pending_call_ref) where pending_call_ref is not null;
