-- Subscriptions with their health and backlog (never the secret).
create or replace view webhook_subscription_status as
select s.id, s.url, s.events, s.enabled, s.callback, s.description, s.created_at, s.failing_since,
       s.last_success_at, s.disabled_at, s.disabled_reason,
       coalesce(c.pending, 0) as pending, coalesce(c.delivered, 0) as delivered,
       coalesce(c.failed, 0) as failed, coalesce(c.cancelled, 0) as cancelled, c.oldest_pending_at
from webhook_subscriptions s
left join (
  select subscription_id,
         count(*) filter (where status = 'pending')::int as pending,
         count(*) filter (where status = 'delivered')::int as delivered,
         count(*) filter (where status = 'failed')::int as failed,
         count(*) filter (where status = 'cancelled')::int as cancelled,
         min(created_at) filter (where status = 'pending') as oldest_pending_at
  from webhook_messages group by subscription_id
) c on c.subscription_id = s.id;
