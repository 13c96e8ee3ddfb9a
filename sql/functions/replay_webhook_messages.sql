-- Send messages again: back to pending, a fresh retry window, their lines queued. p_statuses says
-- which (by default failed and cancelled); p_webhook_id one event; p_since events since a time.
-- The webhook-id stays the same, so a receiver that already processed one can tell.
create or replace function replay_webhook_messages(p_subscription_id bigint, p_statuses text[], p_webhook_id text default null,
                                        p_since timestamptz default null)
returns int
language plpgsql volatile as $$
declare
  v_count int;
  v_lines text[];
  v_line text;
begin
  with chosen as (
    update webhook_messages m
    set status = 'pending', next_attempt_at = now(), window_started_at = now(), last_error = null
    from webhook_events e
    where e.id = m.event_id and m.subscription_id = p_subscription_id and m.status = any (p_statuses)
      and (p_webhook_id is null or e.webhook_id = p_webhook_id)
      and (p_since is null or e.created_at >= p_since)
    returning m.line
  )
  select count(*)::int, array_agg(distinct line) into v_count, v_lines from chosen;
  foreach v_line in array coalesce(v_lines, '{}') loop
    perform enqueue_webhook_line(p_subscription_id, v_line, null, 'replace');
  end loop;
  return v_count;
end $$;
