-- A job's history with the time it spent in each state (the current state: time so far).
create or replace view job_timeline as
select
  e.job_id,
  e.id as event_id,
  e.kind,
  e.from_state,
  e.to_state as state,
  e.at as entered_at,
  case when e.kind = 'note' then null
       else coalesce((select min(n.at) from job_events n
                      where n.job_id = e.job_id and n.id > e.id and n.kind <> 'note'), now()) - e.at
  end as time_in_state,
  e.correlation_id,
  e.detail
from job_events e;
