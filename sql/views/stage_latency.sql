-- Time spent in each state over the last 24 hours: p50, p95, p99, max (one sort per state for the
-- three percentiles).
--
-- What the migrations that defined it earlier said (still true unless said otherwise above):
-- (000009)
-- Time spent in each state (from job_events), over the last 24 hours: p50, p95, p99, max.
create or replace view stage_latency as
select state, moves,
       round(p[1]::numeric, 3) as p50_s, round(p[2]::numeric, 3) as p95_s, round(p[3]::numeric, 3) as p99_s,
       round(max_s::numeric, 3) as max_s
from (
  select from_state as state, count(*)::int as moves,
         percentile_cont(array[0.5::float8, 0.95::float8, 0.99::float8]) within group (order by seconds_in_from_state) as p,
         max(seconds_in_from_state) as max_s
  from job_events
  where kind = 'transition' and at > now() - interval '24 hours'
  group by from_state
) s
order by array_position(enum_range(null::job_state), state);
