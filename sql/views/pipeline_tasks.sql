-- Every task of every stage with its job key prefix.
create or replace view pipeline_tasks as
select stage, task, job_key_prefix, true as starts_stage from pipeline_stages
union all
select stage, task, job_key_prefix, false from pipeline_stage_tasks;
