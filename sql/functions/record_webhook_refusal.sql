-- One refusal: always counted (here and in metric_series), stored as a row only while its source
-- has stored fewer than p_rows_per_minute this minute. Returns whether a row was stored. A source's
-- refusals are serialised by an advisory lock held to the end of this short transaction, so the
-- bound holds under concurrency; the commit does not wait for the WAL flush (a refusal lost in a
-- crash matters less than a flood's deliveries queueing behind fsyncs).
create or replace function record_webhook_refusal(p_reason text, p_status int, p_address inet, p_detail text,
                                       p_rows_per_minute int)
returns boolean
language plpgsql volatile as $$
declare
  v_source text := webhook_refusal_source(p_address);
  v_minute timestamptz := date_trunc('minute', now());
  v_store boolean;
begin
  perform set_config('synchronous_commit', 'off', true);
  perform pg_advisory_xact_lock(1647, hashtext(v_source));
  v_store := coalesce((select sum(stored) from webhook_refusal_counts where minute = v_minute and source = v_source), 0)
             < p_rows_per_minute;
  insert into webhook_refusal_counts as c (minute, source, reason, http_status, refusals, stored)
  values (v_minute, v_source, p_reason, p_status, 1, v_store::int)
  on conflict (minute, source, reason, http_status) do update
    set refusals = c.refusals + 1, stored = c.stored + excluded.stored, last_at = now();
  perform observe_metric('tvdb_webhook_deliveries_total', jsonb_build_object('outcome', 'refused', 'reason', p_reason));
  if v_store then
    insert into webhook_refusal_log (reason, http_status, source_address, detail)
    values (p_reason, p_status, p_address, left(p_detail, 500));
  end if;
  return v_store;
end $$;
