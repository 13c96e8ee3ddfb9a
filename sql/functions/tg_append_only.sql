-- job_events is append-only.
create or replace function tg_append_only() returns trigger
language plpgsql volatile as $$
begin
  raise exception '% is append-only: % refused', tg_table_name, tg_op
    using errcode = 'TV003';
end $$;

-- The pipeline's states, exactly the seed's. Order matters only for display.
create or replace trigger _100_append_only before update or delete on job_events
  for each row execute function tg_append_only();

-- The pipeline's states, exactly the seed's. Order matters only for display.
create or replace trigger _101_append_only_truncate before truncate on job_events
  for each statement execute function tg_append_only();

-- Prices as data with effective dates: changing a price is an insert; old ledger rows keep the
-- cost computed when they were written. Amounts are integers: micro-dollars, credits.
--   llamaparse / credit        : micro_usd per credit
--   llamaparse / tier:<tier>   : credits per page (unit 'credits_per_page')
--   embeddings / <model>       : micro_usd per million tokens (unit 'micro_usd_per_1m_tokens')
create or replace trigger _100_append_only before update or delete on cost_ledger
  for each row execute function tg_append_only();

-- Prices as data with effective dates: changing a price is an insert; old ledger rows keep the
-- cost computed when they were written. Amounts are integers: micro-dollars, credits.
--   llamaparse / credit        : micro_usd per credit
--   llamaparse / tier:<tier>   : credits per page (unit 'credits_per_page')
--   embeddings / <model>       : micro_usd per million tokens (unit 'micro_usd_per_1m_tokens')
create or replace trigger _101_append_only_truncate before truncate on cost_ledger
  for each statement execute function tg_append_only();

-- One circuit breaker per external service, shared by every worker on every host.
-- closed -> open after `threshold` consecutive transient failures; open -> half_open after the
-- cool-down, letting `max_probes` calls through; half_open -> closed after `probes_needed`
-- successes, or back to open on a transient failure. Permanent errors (a bad file) never count.
create or replace trigger _100_append_only before update or delete on circuit_breaker_events
  for each row execute function tg_append_only();
