-- Attempts per stage over a window: successes (moves into the stage's done state), failed attempts
-- that were retried (notes), and jobs that failed for good (moves into the failed state).
create or replace function stage_failure_rates(p_window interval)
returns table (stage text, attempts int, failures int, failure_rate numeric)
language sql stable as $$
  with w as (
    select s.stage,
           count(*) filter (where e.kind = 'transition' and e.to_state = s.done_state) as ok,
           count(*) filter (where e.kind = 'transition' and e.to_state = s.failed_state) as failed,
           count(*) filter (where e.kind = 'note' and e.detail ->> 'event' = 'attempt_failed') as retried
    from stage_outcome_states s
    left join job_events e on e.at > now() - p_window and (
      (e.kind = 'transition' and e.to_state in (s.done_state, s.failed_state))
      or (e.kind = 'note' and e.detail ->> 'stage' = s.stage))
    group by s.stage
  )
  select stage, (ok + failed + retried)::int, (failed + retried)::int,
         case when ok + failed + retried = 0 then 0 else round((failed + retried)::numeric / (ok + failed + retried), 4) end
  from w order by stage;
$$;
