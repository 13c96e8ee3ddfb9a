-- For psql: every delivery attempt, newest first by id, with what it was and how it went.
create or replace view webhook_delivery_log as
select a.id as attempt_id, a.at, m.subscription_id, s.url, e.webhook_id, e.type, e.job_id, e.sequence,
       a.attempt, a.outcome, a.http_status, a.latency_ms, a.response_excerpt, a.error, a.next_attempt_at,
       m.status as message_status
from webhook_attempts a
join webhook_messages m on m.id = a.message_id
join webhook_events e on e.id = m.event_id
join webhook_subscriptions s on s.id = m.subscription_id;
