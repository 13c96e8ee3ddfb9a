-- The real bill of a call charged earlier as an estimate replaces it: the estimate is reversed.
-- Runs as the owner (the application role may not write reverses_ledger_id).
create or replace function tg_cost_ledger__replace_estimate() returns trigger
language plpgsql volatile security definer set search_path = public, pg_temp as $$
declare
  e cost_ledger;
begin
  if new.external_id is null or new.operation in ('unrecorded_call', 'estimate_replaced') then
    return null;
  end if;
  for e in
    select l.* from cost_ledger l
    where l.service = new.service and l.operation = 'unrecorded_call'
      and (l.external_id = new.external_id
           or (l.external_id is null and l.reservation_id in (
                 select r.id from budget_reservations r where r.pending_call_ref = new.external_id)))
      and not exists (select 1 from cost_ledger r where r.reverses_ledger_id = l.id)
    order by l.id for update
  loop
    insert into cost_ledger (service, operation, units, unit, cost_micro_usd, estimated, job_id, correlation_id,
                             external_id, reservation_id, reverses_ledger_id)
    values (e.service, 'estimate_replaced', -e.units, e.unit, -e.cost_micro_usd, true, e.job_id, new.correlation_id,
            e.external_id, null, e.id);
    if e.job_id is not null then
      perform add_job_note(e.job_id, jsonb_build_object('event', 'estimate_replaced', 'service', e.service,
        'external_id', e.external_id, 'estimate_micro_usd', e.cost_micro_usd, 'billed_micro_usd', new.cost_micro_usd));
    end if;
  end loop;
  return null;
end $$;

create or replace trigger _250_replace_estimate after insert on cost_ledger
  for each row execute function tg_cost_ledger__replace_estimate();
