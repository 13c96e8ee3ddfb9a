-- Up Migration

-- The outbox. An event is written by a trigger in the transaction that made it happen (a job's move,
-- an alert), so an event exists exactly when its cause committed: nothing is lost, and nothing is
-- sent for a move that rolled back. Each event becomes one message per matching subscription, and
-- each message's delivery is queued (graphile-worker, same transaction).

-- webhook_id is the Standard Webhooks `webhook-id`: one per event, the same on every retry and
-- replay and for every subscription that receives it. Job events carry the job's sequence number
-- (1, 2, 3, ... per job, over all events written for it).
create table webhook_events (
  id bigint generated always as identity primary key,
  webhook_id text not null unique default ('msg_' || replace(gen_random_uuid()::text, '-', '')),
  type text not null references webhook_event_types (type) on delete restrict,
  job_id uuid references jobs (id) on delete cascade,
  sequence int,
  payload jsonb not null,
  created_at timestamptz not null default clock_timestamp(),
  check ((job_id is null) = (sequence is null)),
  unique (job_id, sequence)
);
create index webhook_events_created_idx on webhook_events (created_at);

-- One message per (subscription, event): the unit of delivery. Messages of one line (a job's events
-- for one subscription; any other event is a line of its own) are delivered one at a time, lowest
-- sequence first: a message waits until the ones before it in its line are delivered or given up.
-- window_started_at: when retrying began (creation, or the last replay); retries stop
-- TVDB_WEBHOOK_RETRY_FOR_H after it.
create table webhook_messages (
  id bigint generated always as identity primary key,
  subscription_id bigint not null references webhook_subscriptions (id) on delete cascade,
  event_id bigint not null references webhook_events (id) on delete cascade,
  line text not null,
  status text not null default 'pending' check (status in ('pending', 'delivered', 'failed', 'cancelled')),
  attempts int not null default 0,
  next_attempt_at timestamptz not null default now(),
  window_started_at timestamptz not null default now(),
  delivered_at timestamptz,
  last_error text,
  created_at timestamptz not null default now(),
  unique (subscription_id, event_id)
);
create index webhook_messages_line_idx on webhook_messages (subscription_id, line, event_id) where status = 'pending';
create index webhook_messages_event_idx on webhook_messages (event_id);

-- Queue a line's delivery task. One pending task per line (job key); tasks of a subscription run in
-- 16 serial queues by a hash of the line, so no two runs of one line overlap while lines of
-- different jobs go in parallel. p_mode 'preserve_run_at' (new events) keeps a retry's scheduled
-- time; 'replace' (the task rescheduling itself) sets it.
create function enqueue_webhook_line(p_subscription_id bigint, p_line text, p_run_at timestamptz default null,
                                     p_mode text default 'preserve_run_at')
returns void
language sql volatile as $$
  select graphile_worker.add_job('webhook__deliver',
    json_build_object('subscriptionId', p_subscription_id, 'line', p_line),
    queue_name => format('webhook:%s:%s', p_subscription_id, abs(hashtext(p_line)) % 16),
    run_at => coalesce(p_run_at, now()),
    max_attempts => 25,
    job_key => format('webhook:%s:%s', p_subscription_id, p_line),
    job_key_mode => p_mode);
$$;

-- Write an event for the enabled subscriptions that asked for it (a callback only for its jobs),
-- one message each, and queue their lines. Nothing is written when nobody listens. Returns the
-- event's id, or null. For a job event the caller holds the job's row lock (the trigger does), so
-- sequence numbers of one job are assigned one transaction at a time.
create function publish_webhook_event(p_type text, p_job_id uuid, p_data jsonb)
returns bigint
language plpgsql volatile as $$
declare
  v_subscriptions bigint[];
  v_sequence int;
  v_event bigint;
  v_line text;
  v_sub bigint;
begin
  select array_agg(s.id order by s.id) into v_subscriptions
  from webhook_subscriptions s
  where s.enabled and p_type = any (s.events)
    and (not s.callback or exists (select 1 from webhook_subscription_jobs l
                                   where l.job_id = p_job_id and l.subscription_id = s.id));
  if v_subscriptions is null then
    return null;
  end if;
  if p_job_id is not null then
    select coalesce(max(sequence), 0) + 1 into v_sequence from webhook_events where job_id = p_job_id;
  end if;
  insert into webhook_events (type, job_id, sequence, payload)
  values (p_type, p_job_id, v_sequence, jsonb_build_object(
    'type', p_type,
    'timestamp', to_char(clock_timestamp() at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
    'data', p_data || case when v_sequence is null then '{}'::jsonb else jsonb_build_object('sequence', v_sequence) end))
  returning id into v_event;
  v_line := coalesce(p_job_id::text, 'event:' || v_event);
  foreach v_sub in array v_subscriptions loop
    insert into webhook_messages (subscription_id, event_id, line) values (v_sub, v_event, v_line);
    perform enqueue_webhook_line(v_sub, v_line);
  end loop;
  return v_event;
end $$;

-- Every move of a job: job.state_changed, then job.complete (the last stage's handoff state) or
-- job.failed (a stage's failed state, with the error), read from the stage table. A separate
-- trigger beside _200_record_event (same statement, same transaction): the event recorder's body
-- stays as it is. The move's detail (error, class) is still in tvdb.event_detail here.
create function tg_jobs__publish_webhook_events() returns trigger
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

create trigger _300_publish_webhook_events after update of state on jobs
  for each row execute function tg_jobs__publish_webhook_events();

-- Alerts that users subscribe to (budget.alert, breaker.open): raise_alert inserts a row once per
-- condition and window (repeats only count occurrences), so one alert is one event.
create function tg_alerts__publish_webhook_event() returns trigger
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

create trigger _300_publish_webhook_event after insert on alerts
  for each row execute function tg_alerts__publish_webhook_event();

-- A test delivery to one subscription (tvdb webhooks test): an event of its own, one message.
create function publish_webhook_test(p_subscription_id bigint)
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
