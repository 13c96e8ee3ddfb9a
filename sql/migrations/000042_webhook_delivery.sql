-- Up Migration

-- Delivery bookkeeping: every attempt is a row of the delivery log; what an attempt means for its
-- message (delivered, retry later, given up) and its subscription (healthy, failing, disabled) is
-- decided here, in one statement per attempt.

create table webhook_attempts (
  id bigint generated always as identity primary key,
  message_id bigint not null references webhook_messages (id) on delete cascade,
  attempt int not null check (attempt > 0),
  at timestamptz not null default now(),
  -- delivered: 2xx; rejected: another status (redirects included: never followed); gone: 410;
  -- timeout; unreachable: DNS or connection failure; blocked: the URL resolves to an address
  -- that is not allowed (loopback, private, link-local, ...)
  outcome text not null check (outcome in ('delivered', 'rejected', 'gone', 'timeout', 'unreachable', 'blocked')),
  http_status int,
  latency_ms int not null check (latency_ms >= 0),
  response_excerpt text check (length(response_excerpt) <= 500),
  error text,
  next_attempt_at timestamptz
);
create index webhook_attempts_message_idx on webhook_attempts (message_id, id);
create index webhook_attempts_at_idx on webhook_attempts (at);

-- Bucket bounds (seconds) of the delivery latency histogram.
create function webhook_latency_bounds() returns double precision[]
language sql immutable as $$
  select array[0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30]::double precision[]
$$;

-- Stop delivering to a subscription: its pending messages are cancelled (tvdb webhooks replay sends
-- them again once it is enabled). With p_alert_severity, an alert says so. Returns the number of
-- messages cancelled, or null when it was already disabled.
create function disable_webhook_subscription(p_id bigint, p_reason text, p_alert_severity text default null)
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

create function enable_webhook_subscription(p_id bigint)
returns boolean
language plpgsql volatile as $$
begin
  update webhook_subscriptions
  set enabled = true, failing_since = null, disabled_at = null, disabled_reason = null
  where id = p_id;
  return found;
end $$;

-- Record one delivery attempt and decide what follows, in one statement: the log row, the message
-- (delivered; failed when p_give_up; else pending until p_next_attempt_at), the subscription's
-- health (a success clears failing_since; 410 Gone, or failing for longer than p_disable_after,
-- disables it, the latter with a critical alert), the metrics, and for a message still pending its
-- line's next run (so a crash between attempt and reschedule cannot strand the line).
create function record_webhook_attempt(
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

-- Send messages again: back to pending, a fresh retry window, their lines queued. p_statuses says
-- which (by default failed and cancelled); p_webhook_id one event; p_since events since a time.
-- The webhook-id stays the same, so a receiver that already processed one can tell.
create function replay_webhook_messages(p_subscription_id bigint, p_statuses text[], p_webhook_id text default null,
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

-- For psql: every delivery attempt, newest first by id, with what it was and how it went.
create view webhook_delivery_log as
select a.id as attempt_id, a.at, m.subscription_id, s.url, e.webhook_id, e.type, e.job_id, e.sequence,
       a.attempt, a.outcome, a.http_status, a.latency_ms, a.response_excerpt, a.error, a.next_attempt_at,
       m.status as message_status
from webhook_attempts a
join webhook_messages m on m.id = a.message_id
join webhook_events e on e.id = m.event_id
join webhook_subscriptions s on s.id = m.subscription_id;

-- Subscriptions with their health and backlog (never the secret).
create view webhook_subscription_status as
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

-- Lines with messages due for two minutes but no live task (one that failed for good, say through
-- a long database outage, keeps its key but never runs): queued again. Run every few minutes by
-- the webhook__reconcile task. Returns the number of lines queued.
create function requeue_stranded_webhook_lines()
returns int
language plpgsql volatile as $$
declare
  r record;
  v_count int := 0;
begin
  for r in
    select distinct m.subscription_id, m.line
    from webhook_messages m join webhook_subscriptions s on s.id = m.subscription_id
    where m.status = 'pending' and s.enabled and m.next_attempt_at < now() - interval '2 minutes'
      and not exists (select 1 from graphile_worker.jobs g
                      where g.key = format('webhook:%s:%s', m.subscription_id, m.line) and g.attempts < g.max_attempts)
  loop
    perform enqueue_webhook_line(r.subscription_id, r.line, null, 'replace');
    v_count := v_count + 1;
  end loop;
  return v_count;
end $$;
