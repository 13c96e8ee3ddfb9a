-- Stop delivering to a subscription: its pending messages are cancelled (tvdb webhooks replay sends
-- them again once it is enabled). With p_alert_severity, an alert says so. Returns the number of
-- messages cancelled, or null when it was already disabled.
create or replace function disable_webhook_subscription(p_id bigint, p_reason text, p_alert_severity text default null)
returns int
language plpgsql volatile as $$
declare
  v_url text;
  v_cancelled int := 0;
  r record;
begin
  update webhook_subscriptions set enabled = false, disabled_at = now(), disabled_reason = p_reason
  where id = p_id and enabled
  returning url into v_url;
  if not found then
    return null;
  end if;
  for r in
    update webhook_messages m set status = 'cancelled', last_error = 'subscription disabled: ' || p_reason
    from webhook_events e
    where m.subscription_id = p_id and m.status = 'pending' and e.id = m.event_id
    returning e.type
  loop
    v_cancelled := v_cancelled + 1;
    perform observe_metric('tvdb_webhook_out_messages_total', jsonb_build_object('type', r.type, 'outcome', 'cancelled'));
  end loop;
  if p_alert_severity is not null then
    -- The URL's host only: a path may carry a token.
    perform raise_alert('webhook_disabled', format('webhook_disabled:%s:%s', p_id, now()), p_alert_severity,
      format('webhook subscription %s (%s) disabled: %s; %s pending message(s) cancelled. Fix the endpoint, then "tvdb webhooks enable %s" and "tvdb webhooks replay %s"',
             p_id, substring(v_url from '^https?://[^/?#]+'), p_reason, v_cancelled, p_id, p_id),
      jsonb_build_object('subscription_id', p_id, 'reason', p_reason, 'cancelled', v_cancelled));
  end if;
  return v_cancelled;
end $$;
