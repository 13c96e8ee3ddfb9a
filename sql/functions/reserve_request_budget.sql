-- A request's reservation (no job): the id or, when a budget refuses, null and which budget.
create or replace function reserve_request_budget(p_request_id uuid, p_stage text, p_service text, p_amount bigint, p_ttl interval)
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
