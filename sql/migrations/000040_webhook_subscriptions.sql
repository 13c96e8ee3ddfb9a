-- Up Migration

-- Outbound webhooks: the user's systems subscribe to events of the pipeline and are called back,
-- signed the Standard Webhooks way (https://www.standardwebhooks.com). This migration holds the
-- tables; 000041 the outbox written by triggers, 000042 delivery bookkeeping and the views.

-- The events a subscription can ask for. `scope` says what an event is about: a job (carries the
-- job's sequence number, delivered in order per job), an alert (from the alerts table: `alert_kind`
-- names the kind that produces it), or a test delivery (sent on request, never subscribed to).
create table webhook_event_types (
  type text primary key,
  scope text not null check (scope in ('job', 'alert', 'test')),
  alert_kind text unique,
  description text not null,
  check ((scope = 'alert') = (alert_kind is not null))
);
insert into webhook_event_types (type, scope, alert_kind, description) values
  ('job.state_changed', 'job', null, 'a job moved from one state to another (every move)'),
  ('job.complete', 'job', null, 'a job reached complete: its document is searchable'),
  ('job.failed', 'job', null, 'a job entered the failed state of a stage, with the error'),
  ('budget.alert', 'alert', 'budget_threshold', 'a budget passed 50%, 80% or 100% of its limit'),
  ('breaker.open', 'alert', 'breaker_open', 'a circuit breaker opened: an external service is failing'),
  ('webhook.test', 'test', null, 'a test delivery (tvdb webhooks test)');

-- A subscription: where to deliver, which events, the signing secret (whsec_<base64>, shown once
-- when created; never in a view or a log). A callback (POST /v1/documents callback_url) is a
-- subscription that receives only the events of its request's jobs (webhook_subscription_jobs).
-- failing_since: the first failed attempt since the last success (null while healthy); a
-- subscription failing for longer than TVDB_WEBHOOK_DISABLE_AFTER_H is disabled with an alert.
create table webhook_subscriptions (
  id bigint generated always as identity primary key,
  url text not null check (url ~ '^https?://' and length(url) <= 2048),
  events text[] not null check (cardinality(events) > 0),
  secret text not null check (secret ~ '^whsec_[A-Za-z0-9+/]+=*$'),
  enabled boolean not null default true,
  created_at timestamptz not null default now(),
  description text not null default '' check (length(description) <= 200),
  callback boolean not null default false,
  failing_since timestamptz,
  last_success_at timestamptz,
  disabled_at timestamptz,
  disabled_reason text
);

-- Events must be known and subscribable; a callback only hears about its own jobs.
create function tg_webhook_subscriptions__check_events() returns trigger
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

create trigger _100_check_events before insert or update of events, callback on webhook_subscriptions
  for each row execute function tg_webhook_subscriptions__check_events();

-- The jobs of a callback's request.
create table webhook_subscription_jobs (
  job_id uuid not null references jobs (id) on delete cascade,
  subscription_id bigint not null references webhook_subscriptions (id) on delete cascade,
  primary key (job_id, subscription_id)
);
create index webhook_subscription_jobs_subscription_idx on webhook_subscription_jobs (subscription_id);
