-- Charge a reservation's unrecorded call as an estimated ledger row (as 000050), named by the
-- call's provider id when known. A named call whose real bill is already in the ledger is not
-- charged again (its pending mark is only cleared).
--
-- Before 000073:
-- Charge a reservation's unrecorded call (if any) as an estimated ledger row; returns the amount.
create or replace function charge_pending_call(p_reservation_id bigint, p_why text) returns bigint
language plpgsql volatile as $$
declare
  v_r budget_reservations;
begin
  select * into v_r from budget_reservations where id = p_reservation_id for update;
  if not found or v_r.pending_call_micro_usd = 0 then
    return 0;
  end if;
  if v_r.pending_call_ref is not null and exists (
    select 1 from cost_ledger where service = v_r.service and external_id = v_r.pending_call_ref
      and operation not in ('unrecorded_call', 'estimate_replaced')) then
    update budget_reservations set pending_call_micro_usd = 0, pending_call_at = null where id = v_r.id;
    return 0;
  end if;
  insert into cost_ledger (service, operation, units, unit, cost_micro_usd, estimated, job_id, external_id, reservation_id)
  values (v_r.service, 'unrecorded_call', v_r.pending_call_micro_usd, 'micro_usd', v_r.pending_call_micro_usd, true,
          v_r.job_id, v_r.pending_call_ref, v_r.id);
  if v_r.job_id is not null then
    perform add_job_note(v_r.job_id, jsonb_build_object('event', 'unrecorded_call_charged', 'stage', v_r.stage,
      'service', v_r.service, 'estimate_micro_usd', v_r.pending_call_micro_usd, 'why', p_why,
      'call_started_at', v_r.pending_call_at));
  end if;
  return v_r.pending_call_micro_usd;
end $$;
