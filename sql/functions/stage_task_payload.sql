-- A stage task's payload for a job: {jobId, correlationId} and what the task adds (p_extra, e.g. the
-- collector's polls). The one spelling of the payload in SQL; runStage's StagePayload validates it
-- in TypeScript (test/stages.test.ts checks that it accepts this one).
create or replace function stage_task_payload(p_job_id uuid, p_correlation_id text, p_extra jsonb default '{}')
returns json
language sql immutable as $$
  select (jsonb_build_object('jobId', p_job_id, 'correlationId', p_correlation_id) || coalesce(p_extra, '{}'))::json;
$$;
