-- Alerts are rows, deduplicated by a key naming the condition and its window (a storm of the same
-- condition is one alert). A new alert enqueues its delivery (log line, and a signed POST to
-- ALERT_WEBHOOK_URL when set) in the same transaction: an outbox.
create or replace function tg_cost_ledger__budget_alerts() returns trigger
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

-- Alerts are rows, deduplicated by a key naming the condition and its window (a storm of the same
-- condition is one alert). A new alert enqueues its delivery (log line, and a signed POST to
-- ALERT_WEBHOOK_URL when set) in the same transaction: an outbox.
create or replace trigger _200_budget_alerts after insert on cost_ledger
  for each statement execute function tg_cost_ledger__budget_alerts();
