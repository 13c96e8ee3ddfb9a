-- Record one delivery attempt and decide what follows, in one statement: the log row, the message
-- (delivered; failed when p_give_up; else pending until p_next_attempt_at), the subscription's
-- health (a success clears failing_since; 410 Gone, or failing for longer than p_disable_after,
-- disables it, the latter with a critical alert), the metrics, and for a message still pending its
-- line's next run (so a crash between attempt and reschedule cannot strand the line).
create or replace function record_webhook_attempt(
  p_message_id bigint, p_outcome text, p_http_status int, p_latency_ms int, p_excerpt text, p_error text,
  p_next_attempt_at timestamptz, p_give_up boolean, p_disable_after interval
) returns table (message_status text, subscription_enabled boolean)
language plpgsql volatile as $$
declare
  m record;
  v_status text;
  v_since timestamptz;
  v_error text := case when p_outcome = 'delivered' then null
                       else left(coalesce(p_error, format('HTTP %s', p_http_status)), 1000) end;
begin
  select wm.id, wm.subscription_id, wm.line, wm.status, wm.attempts, e.type into m
  from webhook_messages wm join webhook_events e on e.id = wm.event_id
  where wm.id = p_message_id
  for update of wm;
  if not found then
    return query select 'removed'::text, false; -- the subscription was removed meanwhile
    return;
  end if;
  v_status := case when p_outcome = 'delivered' then 'delivered'
                   when m.status <> 'pending' then m.status
                   when p_give_up then 'failed'
                   else 'pending' end;
  insert into webhook_attempts (message_id, attempt, outcome, http_status, latency_ms, response_excerpt, error, next_attempt_at)
  values (m.id, m.attempts + 1, p_outcome, p_http_status, p_latency_ms, left(p_excerpt, 500), v_error,
          case when v_status = 'pending' then p_next_attempt_at end);
  update webhook_messages
  set attempts = attempts + 1, status = v_status,
      next_attempt_at = case when v_status = 'pending' then coalesce(p_next_attempt_at, now()) else next_attempt_at end,
      delivered_at = case when v_status = 'delivered' then now() else delivered_at end,
      last_error = v_error
  where id = m.id;
  perform observe_metric('tvdb_webhook_out_attempt_duration_seconds',
    jsonb_build_object('type', m.type, 'outcome', p_outcome), p_latency_ms / 1000.0, webhook_latency_bounds());
  if v_status <> m.status and v_status <> 'pending' then
    perform observe_metric('tvdb_webhook_out_messages_total', jsonb_build_object('type', m.type, 'outcome', v_status));
  end if;
  if p_outcome = 'delivered' then
    update webhook_subscriptions set failing_since = null, last_success_at = now() where id = m.subscription_id;
  else
    update webhook_subscriptions set failing_since = coalesce(failing_since, now())
    where id = m.subscription_id returning failing_since into v_since;
    if p_outcome = 'gone' then
      perform disable_webhook_subscription(m.subscription_id, 'the endpoint answered 410 Gone', 'warning');
    elsif v_since < now() - p_disable_after then
      perform disable_webhook_subscription(m.subscription_id,
        format('every delivery failed since %s (longer than %s); last: %s',
               date_trunc('second', v_since), p_disable_after, v_error), 'critical');
    end if;
  end if;
  -- Still pending (and not cancelled by a disable above): the line's task runs again at the retry time.
  select status into v_status from webhook_messages where id = m.id;
  if v_status = 'pending' then
    perform enqueue_webhook_line(m.subscription_id, m.line, coalesce(p_next_attempt_at, now()), 'replace');
  end if;
  return query select v_status, (select enabled from webhook_subscriptions where id = m.subscription_id);
end $$;
