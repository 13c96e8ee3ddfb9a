-- Up Migration

-- Which stages are paid, by which service, and the budget stage their reservations name: in the
-- stage table (the same facts as `paid` in lib/jobs/stages.ts; test/stages.test.ts compares them),
-- not in a CHECK on budget_reservations. A budget stage is a row of budget_stages: a paid stage
-- added to the stage table brings its row, and the stage wrapper and the budget modules take it
-- without an edit. 'search' is the query embeddings' (a request's reservation, no pipeline stage).
create table budget_stages (
  stage text primary key,
  description text not null
);
insert into budget_stages values
  ('parse', 'the parse stage''s LlamaParse calls'),
  ('embed', 'the embed stage''s embedding calls'),
  ('search', 'query embeddings of POST /v1/search and tvdb search');

alter table pipeline_stages
  add column paid_service text,
  add column budget_stage text references budget_stages (stage),
  add constraint pipeline_stages_paid_check check ((paid_service is null) = (budget_stage is null));
update pipeline_stages set paid_service = 'llamaparse', budget_stage = 'parse' where stage = 'parse';
update pipeline_stages set paid_service = 'embeddings', budget_stage = 'embed' where stage = 'embed';

alter table budget_reservations
  drop constraint budget_reservations_stage_check,
  add constraint budget_reservations_stage_fkey foreign key (stage) references budget_stages (stage);
