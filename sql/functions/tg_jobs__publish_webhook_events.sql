-- Every move of a job: job.state_changed, then job.complete (the last stage's handoff state) or
-- job.failed (a stage's failed state, with the error), read from the stage table. A separate
-- trigger beside _200_record_event (same statement, same transaction): the event recorder's body
-- stays as it is. The move's detail (error, class) is still in tvdb.event_detail here.
create or replace function tg_jobs__publish_webhook_events() returns trigger
language plpgsql volatile as $$
declare
  v_detail jsonb;
  v_data jsonb;
  v_stage text;
begin
  if new.state is not distinct from old.state then
    return null;
  end if;
  -- The common case costs one index probe: nobody listens.
  if not exists (select 1 from webhook_subscriptions where enabled and not callback)
     and not exists (select 1 from webhook_subscription_jobs where job_id = new.id) then
    return null;
  end if;
  v_detail := coalesce(nullif(current_setting('tvdb.event_detail', true), '')::jsonb, '{}');
  v_data := jsonb_build_object('job_id', new.id, 'file_name', new.file_name, 'correlation_id', new.correlation_id,
                               'state', new.state, 'previous_state', old.state, 'at', new.state_changed_at);
  perform publish_webhook_event('job.state_changed', new.id, v_data);
  select stage into v_stage from pipeline_stages where failed = new.state;
  if v_stage is not null then
    perform publish_webhook_event('job.failed', new.id, v_data || jsonb_build_object(
      'stage', v_stage,
      'error', left(coalesce(v_detail ->> 'error', new.last_error, 'no reason recorded'), 2000),
      'error_class', coalesce(v_detail ->> 'error_class', 'permanent')));
  elsif new.state = (select handoff_to from pipeline_stages order by position desc limit 1) then
    perform publish_webhook_event('job.complete', new.id, v_data);
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
create or replace trigger _300_publish_webhook_events after update of state on jobs
  for each row execute function tg_jobs__publish_webhook_events();
