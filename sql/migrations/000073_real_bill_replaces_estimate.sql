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

-- The provider's id of the call pending on the (job, stage) reservation, once known: the newest
-- reservation whose pending call the caller's run began (or an earlier run, still pending: an
-- adopted upload). It is named even when its hold expired (and its estimate was charged) between
-- the provider's answer and this record: the estimate's reservation then names the call.
create function name_paid_call(p_job_id uuid, p_stage text, p_lease_token bigint, p_ref text) returns void
language sql volatile as $$
  update budget_reservations set pending_call_ref = p_ref
  where id = (
    select id from budget_reservations
    where job_id = p_job_id and stage = p_stage
      and ((status = 'held' and pending_call_micro_usd > 0
            and (pending_call_token is null or p_lease_token is null or pending_call_token <= p_lease_token))
           or (p_lease_token is not null and pending_call_token = p_lease_token))
    order by id desc limit 1);
$$;

-- A new pending call has no name yet. A hold that is no longer held (closed at its expiry between
-- the reservation and the call) is refused (SQLSTATE 55000): a call made without its pending mark
-- could be paid and never recorded. The run fails this attempt and reserves again.
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

-- Clearing also forgets the name.
create or replace function clear_paid_call(p_job_id uuid, p_stage text, p_lease_token bigint) returns void
language sql volatile as $$
  update budget_reservations set pending_call_micro_usd = 0, pending_call_at = null, pending_call_ref = null
  where job_id = p_job_id and stage = p_stage and status = 'held'
    and (pending_call_token is null or p_lease_token is null or pending_call_token <= p_lease_token);
$$;

-- A request's pending call (a search query's embedding) known not to have billed: the provider
-- refused it with an answer, or it was never made.
create function clear_request_paid_call(p_reservation_id bigint) returns void
language sql volatile as $$
  update budget_reservations set pending_call_micro_usd = 0, pending_call_at = null, pending_call_ref = null
  where id = p_reservation_id and request_id is not null and status = 'held';
$$;

-- A request's call whose outcome is unknown (timed out, connection lost): charged as estimated now
-- and the hold closed.
create function charge_request_paid_call(p_reservation_id bigint, p_why text) returns bigint
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

-- Charge a reservation's unrecorded call as an estimated ledger row (as 000050), named by the
-- call's provider id when known. A named call whose real bill is already in the ledger is not
-- charged again (its pending mark is only cleared).
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

-- The real bill of a call charged earlier as an estimate replaces it: the estimate is reversed.
-- Runs as the owner (the application role may not write reverses_ledger_id).
create function tg_cost_ledger__replace_estimate() returns trigger
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
create trigger _250_replace_estimate after insert on cost_ledger
  for each row execute function tg_cost_ledger__replace_estimate();
