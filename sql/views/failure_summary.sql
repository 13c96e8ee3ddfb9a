-- The pipeline's stages, once: the same rows as STAGES in lib/jobs/stages.ts (a test checks that
-- they agree, and that every legal move in job_state_transitions is explained by a stage). Views
-- and functions that need a stage's states, tasks or job keys join these tables instead of
-- spelling them out. A stage's states, in order: queued_from -> starts_from -> in_progress ->
-- done -> handoff_to; it fails from starts_from or in_progress into failed; a retry moves failed
-- back to retry_to and queues task again.
--
-- What the migrations that defined it earlier said (still true unless said otherwise above):
-- (000009)
-- Failures over the last 24 hours: jobs that failed per stage with their top messages, and failed
-- attempts (retried) per stage and error class.
-- (000011)
-- failure_summary, with failed moves found through the (to_state, at) index instead of a pattern.
create or replace view failure_summary as
select 'job_failed' as kind, to_state::text as stage, coalesce(detail ->> 'error_class', 'permanent') as error_class,
       left(detail ->> 'error', 200) as message, count(*)::int as occurrences, max(at) as last_at
from job_events
where kind = 'transition' and to_state in (select failed from pipeline_stages)
  and at > now() - interval '24 hours'
group by 2, 3, 4
union all
select 'attempt_failed', detail ->> 'stage', detail ->> 'error_class', left(detail ->> 'error', 200), count(*)::int, max(at)
from job_events
where kind = 'note' and detail ->> 'event' = 'attempt_failed' and at > now() - interval '24 hours'
group by 2, 3, 4
order by occurrences desc;
