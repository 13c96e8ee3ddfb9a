-- Up Migration

-- One row per accepted LlamaParse webhook delivery. event_id is unique: LlamaParse retries and
-- duplicates deliveries, and a replay must change nothing.
create table webhook_deliveries (
  event_id text primary key,
  event_type text not null,
  llamaparse_job_id text not null,
  job_id uuid not null references jobs (id) on delete restrict,
  correlation_id text not null,
  known_event boolean not null,
  received_at timestamptz not null default now()
);
create index webhook_deliveries_job_idx on webhook_deliveries (job_id, received_at);

-- Every refused delivery (never the secret or the body): attacks and misconfiguration show here.
create table webhook_refusal_log (
  id bigint generated always as identity primary key,
  at timestamptz not null default now(),
  reason text not null check (reason in (
    'forbidden_source', 'too_large', 'missing_signature', 'bad_signature', 'malformed',
    'unknown_token', 'job_mismatch', 'stale_timestamp')),
  http_status int not null,
  source_address inet,
  detail text
);
create index webhook_refusal_log_at_idx on webhook_refusal_log (at);

-- Refusals of the last 24 hours by reason, for psql and the metrics endpoint.
create view webhook_refusals as
select reason, http_status, count(*)::int as refusals, max(at) as last_at,
       count(distinct source_address)::int as sources
from webhook_refusal_log
where at > now() - interval '24 hours'
group by reason, http_status
order by refusals desc;
