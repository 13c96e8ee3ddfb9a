-- Alerts that users subscribe to (budget.alert, breaker.open): raise_alert inserts a row once per
-- condition and window (repeats only count occurrences), so one alert is one event.
create or replace function tg_alerts__publish_webhook_event() returns trigger
language plpgsql volatile as $$
declare
  v_type text;
begin
  select type into v_type from webhook_event_types where alert_kind = new.kind;
  if v_type is not null then
    perform publish_webhook_event(v_type, null, jsonb_build_object(
      'alert_id', new.id, 'kind', new.kind, 'severity', new.severity, 'message', new.message,
      'detail', new.detail, 'created_at', new.created_at));
  end if;
  return null;
end $$;

-- The outbox. An event is written by a trigger in the transaction that made it happen (a job's move,
-- an alert), so an event exists exactly when its cause committed: nothing is lost, and nothing is
-- sent for a move that rolled back. Each event becomes one message per matching subscription, and
-- each message's delivery is queued (graphile-worker, same transaction).
-- webhook_id is the Standard Webhooks `webhook-id`: one per event, the same on every retry and
-- replay and for every subscription that receives it. Job events carry the job's sequence number
-- (1, 2, 3, ... per job, over all events written for it).
create or replace trigger _300_publish_webhook_event after insert on alerts
  for each row execute function tg_alerts__publish_webhook_event();
