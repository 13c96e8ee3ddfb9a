-- Success and failure states per stage, for the failure-rate function, now read from the stages.
--
-- What the migrations that defined it earlier said (still true unless said otherwise above):
-- (000011)
-- The stages' work, as job_events show it: which state a stage's success enters, which its failure.
create or replace view stage_outcome_states as
select stage, done as done_state, failed as failed_state from pipeline_stages;
