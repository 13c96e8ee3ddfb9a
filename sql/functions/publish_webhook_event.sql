-- Write an event for the enabled subscriptions that asked for it (a callback only for its jobs),
-- one message each, and queue their lines. Nothing is written when nobody listens. Returns the
-- event's id, or null. For a job event the caller holds the job's row lock (the trigger does), so
-- sequence numbers of one job are assigned one transaction at a time.
create or replace function publish_webhook_event(p_type text, p_job_id uuid, p_data jsonb)
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
