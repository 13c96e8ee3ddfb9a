-- For each non-terminal state, the stage whose task must act next (its queued, start or working
-- states first; else the stage that just finished in it). Terminal states have no row.
create or replace view pipeline_state_owners as
select distinct on (x.state) x.state, x.stage
from (
  select stage, position, queued_from as state, 1 as rank from pipeline_stages
  union all select stage, position, starts_from, 1 from pipeline_stages
  union all select stage, position, in_progress, 1 from pipeline_stages
  union all select stage, position, done, 2 from pipeline_stages
) x
where x.state is not null
order by x.state, x.rank, x.position;
