-- Clearing also forgets the name.
--
-- Before 000073:
-- Clearing a pending call is the business of the run that began it or a later one.
--
-- What the migrations that defined it earlier said (still true unless said otherwise above):
-- (000050)
-- The call is known not to have billed (the provider refused it, or it was looked up and found
-- absent): nothing pending.
create or replace function clear_paid_call(p_job_id uuid, p_stage text, p_lease_token bigint) returns void
language sql volatile as $$
  update budget_reservations set pending_call_micro_usd = 0, pending_call_at = null, pending_call_ref = null
  where job_id = p_job_id and stage = p_stage and status = 'held'
    and (pending_call_token is null or p_lease_token is null or pending_call_token <= p_lease_token);
$$;
