-- The moves the stages explain: along each stage's path, into its failed state, back by retry.
create or replace view pipeline_stage_moves as
with paths as (
  select s.stage, p.state, p.ord
  from pipeline_stages s,
       unnest(array[s.queued_from, s.starts_from, s.in_progress, s.done, s.handoff_to]) with ordinality as p(state, ord)
  where p.state is not null
)
select a.stage, a.state as from_state, b.state as to_state, 'forward' as kind
from paths a
join lateral (select state from paths b where b.stage = a.stage and b.ord > a.ord order by b.ord limit 1) b on true
union all
select stage, f.state, failed, 'fail'
from pipeline_stages, unnest(array[starts_from, in_progress]) as f(state)
where f.state is not null
union all
select stage, failed, retry_to, 'retry' from pipeline_stages;
