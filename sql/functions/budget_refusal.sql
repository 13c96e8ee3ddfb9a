-- Which budget refuses a spend of p_amount on p_service (null: every budget has room). Locks the
-- budget rows covering the service (FOR UPDATE), so the caller's insert of the hold is decided
-- one at a time with every other reservation; the caller must insert in the same transaction.
create or replace function budget_refusal(p_service text, p_amount bigint) returns text
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
