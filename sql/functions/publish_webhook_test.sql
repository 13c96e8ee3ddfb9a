-- A test delivery to one subscription (tvdb webhooks test): an event of its own, one message.
create or replace function publish_webhook_test(p_subscription_id bigint)
returns table (event_id bigint, webhook_id text, message_id bigint)
language plpgsql volatile as $$
declare
  v_event bigint;
  v_webhook_id text;
  v_message bigint;
begin
  insert into webhook_events (type, payload)
  values ('webhook.test', jsonb_build_object(
    'type', 'webhook.test',
    'timestamp', to_char(clock_timestamp() at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
    'data', jsonb_build_object('subscription_id', p_subscription_id,
                               'message', 'a test delivery from tvdb: your endpoint receives and verifies webhooks')))
  returning id, webhook_events.webhook_id into v_event, v_webhook_id;
  insert into webhook_messages (subscription_id, event_id, line)
  values (p_subscription_id, v_event, 'event:' || v_event)
  returning id into v_message;
  perform enqueue_webhook_line(p_subscription_id, 'event:' || v_event);
  return query select v_event, v_webhook_id, v_message;
end $$;
