-- What the alert evaluator (task alert__evaluate, every minute on some worker) checks: a stage
-- failing more than p_max_rate of at least p_min_attempts attempts over p_window, and stuck jobs.
-- Each condition raises at most one alert per window. Returns the alerts raised.
create or replace function evaluate_pipeline_alerts(p_window interval, p_max_rate numeric, p_min_attempts int)
returns int
language plpgsql volatile as $$
declare
  v record;
  v_raised int := 0;
  v_window text := date_bin(p_window, now(), timestamptz '2000-01-01')::text;
begin
  for v in select * from stage_failure_rates(p_window) where attempts >= p_min_attempts and failure_rate > p_max_rate loop
    if raise_alert('stage_failure_rate', format('stage_failure_rate:%s:%s', v.stage, v_window), 'critical',
         format('%s stage: %s of %s attempts failed in the last %s (%s%%, threshold %s%%)', v.stage, v.failures,
                v.attempts, p_window, round(100 * v.failure_rate, 1), round(100 * p_max_rate, 1)),
         jsonb_build_object('stage', v.stage, 'attempts', v.attempts, 'failures', v.failures,
                            'failure_rate', v.failure_rate, 'window', p_window::text)) is not null then
      v_raised := v_raised + 1;
    end if;
  end loop;
  for v in select count(*)::int as jobs, max(in_state_for) as longest, array_agg(distinct state::text) as states
           from stuck_jobs having count(*) > 0 loop
    if raise_alert('stuck_jobs', format('stuck_jobs:%s', v_window), 'warning',
         format('%s job(s) stuck with no task queued (states: %s; longest %s); the reconciler re-enqueues them, see the stuck_jobs view',
                v.jobs, array_to_string(v.states, ', '), date_trunc('second', v.longest)),
         jsonb_build_object('jobs', v.jobs, 'states', v.states, 'longest_s', extract(epoch from v.longest)::int)) is not null then
      v_raised := v_raised + 1;
    end if;
  end loop;
  return v_raised;
end $$;
