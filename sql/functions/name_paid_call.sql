-- The provider's id of the call pending on the (job, stage) reservation, once known: the newest
-- reservation whose pending call the caller's run began (or an earlier run, still pending: an
-- adopted upload). It is named even when its hold expired (and its estimate was charged) between
-- the provider's answer and this record: the estimate's reservation then names the call.
create or replace function name_paid_call(p_job_id uuid, p_stage text, p_lease_token bigint, p_ref text) returns void
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
