-- Events must be known and subscribable; a callback only hears about its own jobs.
create or replace function tg_webhook_subscriptions__check_events() returns trigger
language plpgsql volatile as $$
declare
  v_unknown text[];
begin
  select array_agg(e) into v_unknown from unnest(new.events) e
  where e not in (select type from webhook_event_types
                  where scope <> 'test' and (not new.callback or scope = 'job'));
  if v_unknown is not null then
    raise exception 'unknown or unsubscribable webhook event(s): %', array_to_string(v_unknown, ', ')
      using errcode = 'TV010',
            hint = case when new.callback then 'callbacks take job.state_changed, job.complete, job.failed'
                        else 'see webhook_event_types' end;
  end if;
  new.events := array(select distinct e from unnest(new.events) e order by e);
  return new;
end $$;

-- Outbound webhooks: the user's systems subscribe to events of the pipeline and are called back,
-- signed the Standard Webhooks way (https://www.standardwebhooks.com). This migration holds the
-- tables; 000041 the outbox written by triggers, 000042 delivery bookkeeping and the views.
-- The events a subscription can ask for. `scope` says what an event is about: a job (carries the
-- job's sequence number, delivered in order per job), an alert (from the alerts table: `alert_kind`
-- names the kind that produces it), or a test delivery (sent on request, never subscribed to).
create or replace trigger _100_check_events before insert or update of events, callback on webhook_subscriptions
  for each row execute function tg_webhook_subscriptions__check_events();
