-- Delivery bookkeeping: every attempt is a row of the delivery log; what an attempt means for its
-- message (delivered, retry later, given up) and its subscription (healthy, failing, disabled) is
-- decided here, in one statement per attempt.
create or replace function enable_webhook_subscription(p_id bigint)
returns boolean
language plpgsql volatile as $$
begin
  update webhook_subscriptions
  set enabled = true, failing_since = null, disabled_at = null, disabled_reason = null
  where id = p_id;
  return found;
end $$;
