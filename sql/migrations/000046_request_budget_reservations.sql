-- Up Migration

-- Paid work that belongs to no job (the embedding of a search query) reserves budget too. A
-- reservation is owned by exactly one of a job (keyed by job and stage, reused by a retried stage)
-- or a request (a search: one reservation per request id, never reused).
alter table budget_reservations
  alter column job_id drop not null,
  add column request_id uuid,
  drop constraint budget_reservations_stage_check,
  add constraint budget_reservations_stage_check check (stage in ('parse', 'embed', 'search')),
  add constraint budget_reservations_one_owner check ((job_id is null) <> (request_id is null));
create unique index budget_reservations_request_idx on budget_reservations (request_id) where request_id is not null;

-- Which budget refuses a spend of p_amount on p_service (null: every budget has room). Locks the
-- budget rows covering the service (FOR UPDATE), so the caller's insert of the hold is decided
-- one at a time with every other reservation; the caller must insert in the same transaction.
create function budget_refusal(p_service text, p_amount bigint) returns text
language plpgsql volatile as $$
declare
  v_budget record;
begin
  perform 1 from budgets where scope in (p_service, 'all') order by id for update;
  for v_budget in
    select s.* from budget_status s where s.scope in (p_service, 'all') order by s.budget_id
  loop
    if v_budget.remaining_micro_usd < p_amount then
      return format('%s %s budget: %s of %s micro-USD spent or reserved, %s needed',
        v_budget.scope, v_budget.period, v_budget.spent_micro_usd + v_budget.reserved_micro_usd, v_budget.limit_micro_usd, p_amount);
    end if;
  end loop;
  return null;
end $$;

-- The stages' reservation, unchanged in behaviour, now with the budget check above.
create or replace function reserve_budget(p_job_id uuid, p_stage text, p_service text, p_amount bigint, p_ttl interval default '1 hour')
returns table (reservation_id bigint, refused_by text, reused boolean)
language plpgsql volatile as $$
declare
  v_existing bigint;
  v_refusal text;
begin
  select id into v_existing from budget_reservations
  where job_id = p_job_id and stage = p_stage and status = 'held' and expires_at > now();
  if found then
    return query select v_existing, null::text, true;
    return;
  end if;
  -- An expired hold for this (job, stage) is closed before a new one is taken.
  update budget_reservations set status = 'expired' where job_id = p_job_id and stage = p_stage and status = 'held';
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

-- A request's reservation (no job): the id or, when a budget refuses, null and which budget.
create function reserve_request_budget(p_request_id uuid, p_stage text, p_service text, p_amount bigint, p_ttl interval)
returns table (reservation_id bigint, refused_by text)
language plpgsql volatile as $$
declare
  v_refusal text;
begin
  v_refusal := budget_refusal(p_service, p_amount);
  if v_refusal is not null then
    return query select null::bigint, v_refusal;
    return;
  end if;
  return query
    insert into budget_reservations (request_id, stage, service, amount_micro_usd, expires_at)
    values (p_request_id, p_stage, p_service, p_amount, now() + p_ttl)
    returning id, null::text;
end $$;
