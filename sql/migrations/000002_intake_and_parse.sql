-- Up Migration

-- Parse stage bookkeeping on the job. webhook_token is ours, unguessable, and goes into the webhook
-- URL we hand LlamaParse, binding a delivery to one job even when LlamaParse does not sign.
alter table jobs
  add column webhook_token text unique check (length(webhook_token) >= 32),
  add column llamaparse_job_id text unique,
  add column parse_submitted_at timestamptz,
  add column parse_resubmissions int not null default 0;

-- A parse result belongs to a document and the settings that produced it (parser, tier, version):
-- ingesting the same bytes again with the same settings reuses it instead of paying again.
create table parse_results (
  id bigint generated always as identity primary key,
  document_id bigint not null references documents (id) on delete restrict,
  parser text not null check (parser in ('local', 'llamaparse')),
  settings_key text not null,
  page_count int not null check (page_count >= 0),
  pages_parsed int not null check (pages_parsed >= 0),
  failed_pages jsonb not null default '[]',
  credits bigint check (credits >= 0),
  llamaparse_job_id text,
  created_at timestamptz not null default now(),
  unique (document_id, parser, settings_key)
);

create table parsed_pages (
  parse_result_id bigint not null references parse_results (id) on delete cascade,
  page_number int not null check (page_number > 0),
  markdown text not null,
  primary key (parse_result_id, page_number)
);

alter table jobs add column parse_result_id bigint references parse_results (id) on delete restrict;

-- A note on a job's history that is not a move (a failed attempt, a LlamaParse submission, ...).
create function add_job_note(p_job_id uuid, p_detail jsonb) returns void
language sql volatile as $$
  insert into job_events (job_id, kind, from_state, to_state, correlation_id, detail)
  select id, 'note', null, state, correlation_id, p_detail from jobs where id = p_job_id;
$$;

-- Move a job to a failed state from wherever its stage left it (the transition table still decides
-- whether that is legal). Returns 'moved' or 'already_there'.
create function fail_job(p_job_id uuid, p_failed_state job_state, p_detail jsonb) returns text
language plpgsql volatile as $$
declare
  v_state job_state;
begin
  select state into v_state from jobs where id = p_job_id for update;
  if not found then
    raise exception 'job % does not exist', p_job_id using errcode = 'TV004';
  end if;
  return advance_job(p_job_id, v_state, p_failed_state, p_detail);
end $$;
