-- Metrics that Prometheus scrapes from any server, kept in Postgres so that work done by workers on
-- any host is counted once and every scrape agrees: cumulative counters and histograms, one row per
-- (metric, label set, shard). Writers spread over a few shards (by backend pid) so that concurrent
-- transactions rarely wait on the same row; readers sum the shards.
--
-- What the migrations that defined it earlier said (still true unless said otherwise above):
-- (000006)
-- Alerts are rows, deduplicated by a key naming the condition and its window (a storm of the same
-- condition is one alert). A new alert enqueues its delivery (log line, and a signed POST to
-- ALERT_WEBHOOK_URL when set) in the same transaction: an outbox.
create or replace function raise_alert(p_kind text, p_key text, p_severity text, p_message text, p_detail jsonb default '{}')
returns bigint
language plpgsql volatile as $$
declare
  v_id bigint;
  v_new boolean;
begin
  insert into alerts as a (kind, dedupe_key, severity, message, detail)
  values (p_kind, p_key, p_severity, p_message, coalesce(p_detail, '{}'))
  on conflict (dedupe_key) do update set occurrences = a.occurrences + 1, last_seen_at = now()
  returning id, (xmax = 0) into v_id, v_new;
  if v_new then
    perform graphile_worker.add_job('alert__deliver', json_build_object('alertId', v_id), max_attempts => 10);
    perform observe_metric('tvdb_alerts_total', jsonb_build_object('kind', p_kind, 'severity', p_severity));
    return v_id;
  end if;
  return null;
end $$;
