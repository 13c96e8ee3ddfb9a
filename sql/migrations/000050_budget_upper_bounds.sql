-- Up Migration

-- Budgets as true upper bounds (issue 15).
--
-- A reservation records the paid call in flight against it (pending_call_micro_usd: the most that
-- call can bill) from just before the call until its ledger row is written (a trigger clears it).
-- A call that was started but never recorded (its process died after the provider answered) is
-- charged as an `estimated` ledger row at that amount: when a new run takes the reservation over,
-- when the stage gives up, or when the reservation expires. Until then it keeps holding the budget,
-- expired or not.
alter table budget_reservations
  add column pending_call_micro_usd bigint not null default 0 check (pending_call_micro_usd >= 0),
  add column pending_call_at timestamptz,
  drop constraint budget_reservations_status_check,
  add constraint budget_reservations_status_check check (status in ('held', 'settled', 'expired', 'released'));

-- Budget periods in UTC, whatever the session's TimeZone.
create or replace function budget_period_start(p_period text, p_created_at timestamptz, p_at timestamptz default now()) returns timestamptz
language sql stable as $$
  select case p_period
    when 'day' then date_trunc('day', p_at, 'UTC')
    when 'month' then date_trunc('month', p_at, 'UTC')
    else p_created_at end;
$$;

-- Reserved = outstanding of live holds, plus the pending call of an expired hold not yet charged.
create or replace view budget_status as
with b as (
  select b.*, budget_period_start(b.period, b.created_at) as period_start from budgets b
), spent as (
  select b.id, coalesce(sum(l.cost_micro_usd), 0)::bigint as spent
  from b left join cost_ledger l on l.at >= b.period_start and (b.scope = 'all' or l.service = b.scope)
  group by b.id
), reserved as (
  select b.id, coalesce(sum(case when r.expires_at > now()
                                 then greatest(0, r.amount_micro_usd - coalesce(c.charged, 0))
                                 else r.pending_call_micro_usd end), 0)::bigint as reserved
  from b left join budget_reservations r
    on r.status = 'held' and (r.expires_at > now() or r.pending_call_micro_usd > 0)
       and (b.scope = 'all' or r.service = b.scope)
  left join lateral (select sum(cost_micro_usd) as charged from cost_ledger where reservation_id = r.id) c on true
  group by b.id
)
select b.id as budget_id, b.scope, b.period, b.period_start,
       b.limit_micro_usd, s.spent as spent_micro_usd, r.reserved as reserved_micro_usd,
       b.limit_micro_usd - s.spent - r.reserved as remaining_micro_usd,
       case when b.limit_micro_usd = 0 then 1.0 else round((s.spent + r.reserved)::numeric / b.limit_micro_usd, 4) end as share_used
from b join spent s on s.id = b.id join reserved r on r.id = b.id;

-- A ledger row against a reservation records its call: nothing is pending any more.
create function tg_cost_ledger__clear_pending() returns trigger
language plpgsql volatile as $$
begin
  if new.reservation_id is not null then
    update budget_reservations set pending_call_micro_usd = 0, pending_call_at = null
    where id = new.reservation_id and pending_call_micro_usd > 0;
  end if;
  return new;
end $$;
create trigger _300_clear_pending after insert on cost_ledger
  for each row execute function tg_cost_ledger__clear_pending();

-- Charge a reservation's unrecorded call (if any) as an estimated ledger row; returns the amount.
create function charge_pending_call(p_reservation_id bigint, p_why text) returns bigint
language plpgsql volatile as $$
declare
  v_r budget_reservations;
begin
  select * into v_r from budget_reservations where id = p_reservation_id for update;
  if not found or v_r.pending_call_micro_usd = 0 then
    return 0;
  end if;
  insert into cost_ledger (service, operation, units, unit, cost_micro_usd, estimated, job_id, reservation_id)
  values (v_r.service, 'unrecorded_call', v_r.pending_call_micro_usd, 'micro_usd', v_r.pending_call_micro_usd, true,
          v_r.job_id, v_r.id);
  if v_r.job_id is not null then
    perform add_job_note(v_r.job_id, jsonb_build_object('event', 'unrecorded_call_charged', 'stage', v_r.stage,
      'service', v_r.service, 'estimate_micro_usd', v_r.pending_call_micro_usd, 'why', p_why,
      'call_started_at', v_r.pending_call_at));
  end if;
  return v_r.pending_call_micro_usd;
end $$;

-- Before a paid call: record it as pending against its reservation (the most it can bill).
create function begin_paid_call(p_reservation_id bigint, p_amount bigint) returns void
language sql volatile as $$
  update budget_reservations set pending_call_micro_usd = greatest(0, p_amount), pending_call_at = now()
  where id = p_reservation_id and status = 'held';
$$;

-- The call is known not to have billed (the provider refused it, or it was looked up and found
-- absent): nothing pending.
create function clear_paid_call(p_job_id uuid, p_stage text) returns void
language sql volatile as $$
  update budget_reservations set pending_call_micro_usd = 0, pending_call_at = null
  where job_id = p_job_id and stage = p_stage and status = 'held';
$$;

-- Close expired holds: an unrecorded call is charged (estimated), then the hold ends.
create function expire_reservations() returns int
language plpgsql volatile as $$
declare
  v_id bigint;
  v_n int := 0;
begin
  for v_id in
    select id from budget_reservations where status = 'held' and expires_at <= now() order by id for update skip locked
  loop
    perform charge_pending_call(v_id, 'the reservation expired with its paid call unrecorded');
    update budget_reservations set status = 'expired' where id = v_id;
    v_n := v_n + 1;
  end loop;
  return v_n;
end $$;

-- The stage gave up (or its paid call failed for good): release the hold now, not at its expiry.
-- A call still pending (its answer never came) is charged as estimated first.
create function release_reservation(p_job_id uuid, p_stage text) returns void
language plpgsql volatile as $$
declare
  v_id bigint;
begin
  for v_id in select id from budget_reservations where job_id = p_job_id and stage = p_stage and status = 'held' for update
  loop
    perform charge_pending_call(v_id, 'the stage gave up with its paid call unrecorded');
    update budget_reservations set status = 'released', settled_at = now() where id = v_id;
  end loop;
end $$;

-- The stages' reservation. Reservers of the same (job, stage) are serialised by an advisory lock,
-- so a fresh hold is never expired by a concurrent reserver (only holds past their expiry are
-- closed). A held reservation is reused: a call it recorded as pending and never wrote down (its
-- run died) is charged as estimated; when the new call needs more than is outstanding, the hold
-- grows by the difference if every budget has room (refused otherwise: the hold stays as it is).
create or replace function reserve_budget(p_job_id uuid, p_stage text, p_service text, p_amount bigint, p_ttl interval default '1 hour')
returns table (reservation_id bigint, refused_by text, reused boolean)
language plpgsql volatile as $$
declare
  v_existing budget_reservations;
  v_outstanding bigint;
  v_refusal text;
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
    perform charge_pending_call(v_existing.id, 'a new run took over the reservation; the previous run''s paid call was never recorded');
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
