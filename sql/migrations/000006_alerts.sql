-- Up Migration

-- Alerts are rows, deduplicated by a key naming the condition and its window (a storm of the same
-- condition is one alert). A new alert enqueues its delivery (log line, and a signed POST to
-- ALERT_WEBHOOK_URL when set) in the same transaction: an outbox.
create table alerts (
  id bigint generated always as identity primary key,
  kind text not null,
  dedupe_key text not null unique,
  severity text not null check (severity in ('info', 'warning', 'critical')),
  message text not null,
  detail jsonb not null default '{}',
  created_at timestamptz not null default now(),
  delivered_at timestamptz,
  delivery_error text
);
create index alerts_created_idx on alerts (created_at);

create function raise_alert(p_kind text, p_key text, p_severity text, p_message text, p_detail jsonb default '{}')
returns bigint
language plpgsql volatile as $$
declare
  v_id bigint;
begin
  insert into alerts (kind, dedupe_key, severity, message, detail)
  values (p_kind, p_key, p_severity, p_message, coalesce(p_detail, '{}'))
  on conflict (dedupe_key) do nothing
  returning id into v_id;
  if v_id is not null then
    perform graphile_worker.add_job('alert__deliver', json_build_object('alertId', v_id), max_attempts => 10);
  end if;
  return v_id;
end $$;

-- Shares of a budget at which an alert is raised, once per budget, threshold and period.
create table budget_alert_thresholds (share numeric primary key check (share > 0));
insert into budget_alert_thresholds (share) values (0.5), (0.8), (1.0);

create function tg_cost_ledger__budget_alerts() returns trigger
language plpgsql volatile as $$
declare
  v record;
begin
  for v in
    select s.*, t.share as threshold
    from budget_status s join budget_alert_thresholds t
      on s.limit_micro_usd > 0 and s.spent_micro_usd::numeric / s.limit_micro_usd >= t.share
  loop
    perform raise_alert(
      'budget_threshold',
      format('budget:%s:%s:%s', v.budget_id, v.threshold, v.period_start),
      case when v.threshold >= 1 then 'critical' else 'warning' end,
      format('%s %s budget at %s%% (%s of %s micro-USD spent; threshold %s%%)', v.scope, v.period,
             round(100 * v.spent_micro_usd::numeric / v.limit_micro_usd), v.spent_micro_usd, v.limit_micro_usd, round(100 * v.threshold)),
      jsonb_build_object('budget_id', v.budget_id, 'scope', v.scope, 'period', v.period, 'threshold', v.threshold,
                         'spent_micro_usd', v.spent_micro_usd, 'limit_micro_usd', v.limit_micro_usd, 'period_start', v.period_start));
  end loop;
  return null;
end $$;

create trigger _200_budget_alerts after insert on cost_ledger
  for each statement execute function tg_cost_ledger__budget_alerts();
