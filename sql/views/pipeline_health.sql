-- Jobs per state, the oldest job's age in each state, and throughput into each state.
create or replace view pipeline_health as
select
  s.state,
  coalesce(j.jobs, 0) as jobs,
  j.oldest_age,
  coalesce(t.entered_5m, 0) as entered_last_5m,
  coalesce(t.entered_60m, 0) as entered_last_60m
from unnest(enum_range(null::job_state)) with ordinality as s(state, ord)
left join (
  select state, count(*) as jobs, now() - min(state_changed_at) as oldest_age
  from jobs group by state
) j on j.state = s.state
left join (
  select to_state,
         count(*) filter (where at > now() - interval '5 minutes') as entered_5m,
         count(*) as entered_60m
  from job_events
  where kind = 'transition' and at > now() - interval '60 minutes'
  group by to_state
) t on t.to_state = s.state
order by s.ord;
