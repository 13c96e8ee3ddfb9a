-- A run that lost its stage (frozen past its lease, then thawed) must not charge the pending call
-- of the run that took over as "unrecorded": the pending call records the lease token of the run
-- that began it, and reserve_budget takes the caller's token. A stale caller changes nothing; a
-- pending call is charged at takeover only when an earlier run began it.
--
-- What the migrations that defined it earlier said (still true unless said otherwise above):
-- (000005)
-- Take a reservation if every budget covering the service has room for it; the budget rows are
-- locked (FOR UPDATE) so concurrent reservations are decided one at a time and can never together
-- exceed a limit. Returns the reservation id (an existing held one for the same job and stage is
-- reused), or null when a budget refuses; p_refused_by then says which.
-- (000046)
-- The stages' reservation, unchanged in behaviour, now with the budget check above.
-- (000050)
-- The stages' reservation. Reservers of the same (job, stage) are serialised by an advisory lock,
-- so a fresh hold is never expired by a concurrent reserver (only holds past their expiry are
-- closed). A held reservation is reused: a call it recorded as pending and never wrote down (its
-- run died) is charged as estimated; when the new call needs more than is outstanding, the hold
-- grows by the difference if every budget has room (refused otherwise: the hold stays as it is).
create or replace function reserve_budget(p_job_id uuid, p_stage text, p_service text, p_amount bigint, p_ttl interval default '1 hour',
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
