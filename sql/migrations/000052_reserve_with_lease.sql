-- Up Migration

-- A run that lost its stage (frozen past its lease, then thawed) must not charge the pending call
-- of the run that took over as "unrecorded": the pending call records the lease token of the run
-- that began it, and reserve_budget takes the caller's token. A stale caller changes nothing; a
-- pending call is charged at takeover only when an earlier run began it.
alter table budget_reservations add column pending_call_token bigint;

create or replace function begin_paid_call(p_reservation_id bigint, p_amount bigint, p_lease_token bigint) returns void
language sql volatile as $$
  update budget_reservations
  set pending_call_micro_usd = greatest(0, p_amount), pending_call_at = now(), pending_call_token = p_lease_token
  where id = p_reservation_id and status = 'held';
$$;
drop function begin_paid_call(bigint, bigint);

drop function reserve_budget(uuid, text, text, bigint, interval);
create function reserve_budget(p_job_id uuid, p_stage text, p_service text, p_amount bigint, p_ttl interval default '1 hour',
                               p_lease_token bigint default null)
returns table (reservation_id bigint, refused_by text, reused boolean)
language plpgsql volatile as $$
declare
  v_existing budget_reservations;
  v_outstanding bigint;
  v_refusal text;
  v_stale boolean;
begin
  perform pg_advisory_xact_lock(hashtextextended('reserve_budget:' || p_job_id::text || ':' || p_stage, 0));
  -- Expired holds of this (job, stage) are closed (their unrecorded call charged) first.
  perform charge_pending_call(id, 'the reservation expired with its paid call unrecorded')
    from budget_reservations where job_id = p_job_id and stage = p_stage and status = 'held' and expires_at <= now();
  update budget_reservations set status = 'expired'
  where job_id = p_job_id and stage = p_stage and status = 'held' and expires_at <= now();
  select * into v_existing from budget_reservations
  where job_id = p_job_id and stage = p_stage and status = 'held';
  if found then
    -- A run that lost the stage (a newer run holds its lease) changes nothing: the pending call may
    -- be the newer run's own.
    v_stale := p_lease_token is not null and exists (
      select 1 from stage_leases where job_id = p_job_id and stage = p_stage and token > p_lease_token);
    if v_stale then
      return query select v_existing.id, null::text, true;
      return;
    end if;
    -- Only a call begun by an earlier run is charged: the caller's own is still in its hands.
    if p_lease_token is null or coalesce(v_existing.pending_call_token, 0) < p_lease_token then
      perform charge_pending_call(v_existing.id, 'a new run took over the reservation; the previous run''s paid call was never recorded');
    end if;
    select greatest(0, v_existing.amount_micro_usd - coalesce(sum(l.cost_micro_usd), 0))::bigint into v_outstanding
    from cost_ledger l where l.reservation_id = v_existing.id;
    if v_outstanding < p_amount then
      v_refusal := budget_refusal(p_service, p_amount - v_outstanding);
      if v_refusal is not null then
        return query select null::bigint, v_refusal, true;
        return;
      end if;
      update budget_reservations set amount_micro_usd = amount_micro_usd + (p_amount - v_outstanding)
      where id = v_existing.id;
    end if;
    update budget_reservations set expires_at = greatest(expires_at, now() + p_ttl) where id = v_existing.id;
    return query select v_existing.id, null::text, true;
    return;
  end if;
  v_refusal := budget_refusal(p_service, p_amount);
  if v_refusal is not null then
    return query select null::bigint, v_refusal, false;
    return;
  end if;
  return query
    insert into budget_reservations (job_id, stage, service, amount_micro_usd, expires_at)
    values (p_job_id, p_stage, p_service, p_amount, now() + p_ttl)
    returning id, null::text, false;
end $$;

-- Clearing a pending call is the business of the run that began it or a later one.
create function clear_paid_call(p_job_id uuid, p_stage text, p_lease_token bigint) returns void
language sql volatile as $$
  update budget_reservations set pending_call_micro_usd = 0, pending_call_at = null
  where job_id = p_job_id and stage = p_stage and status = 'held'
    and (pending_call_token is null or p_lease_token is null or pending_call_token <= p_lease_token);
$$;
drop function clear_paid_call(uuid, text);
