-- Up Migration

-- Every refused webhook delivery is counted, per minute, source and reason; only a bounded number
-- per source and minute are also kept as rows of webhook_refusal_log (the rest are only counted), so
-- a flood of forged deliveries updates a counter instead of growing a table with the flood.
create table webhook_refusal_counts (
  minute timestamptz not null,
  source text not null, -- the address; IPv6 by /64, a host's usual allocation
  reason text not null,
  http_status int not null,
  refusals bigint not null default 0,
  stored int not null default 0,
  last_at timestamptz not null default now(),
  primary key (minute, source, reason, http_status)
);

-- Counted by record_webhook_refusal now (a stored row is no longer every refusal).
drop trigger _200_count on webhook_refusal_log;
drop function tg_webhook_refusal_log__count();

create function webhook_refusal_source(p_address inet) returns text
language sql immutable as $$
  select case when p_address is null then 'unknown'
              when family(p_address) = 6 then network(set_masklen(p_address, 64))::text
              else host(p_address) end
$$;

-- One refusal: always counted (here and in metric_series), stored as a row only while its source
-- has stored fewer than p_rows_per_minute this minute. Returns whether a row was stored. A source's
-- refusals are serialised by an advisory lock held to the end of this short transaction, so the
-- bound holds under concurrency; the commit does not wait for the WAL flush (a refusal lost in a
-- crash matters less than a flood's deliveries queueing behind fsyncs).
create function record_webhook_refusal(p_reason text, p_status int, p_address inet, p_detail text,
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

-- Refusals of the last 24 hours by reason, from the counts (all of them, stored or not).
create or replace view webhook_refusals as
select reason, http_status, sum(refusals)::int as refusals, max(last_at) as last_at,
       count(distinct source)::int as sources
from webhook_refusal_counts
where minute > now() - interval '24 hours'
group by reason, http_status
order by refusals desc;

create index webhook_deliveries_received_at_idx on webhook_deliveries (received_at);
create index webhook_refusal_counts_minute_idx on webhook_refusal_counts (minute);

-- Retention (task history__prune): deliveries, refusal rows and refusal counts older than
-- p_before, at most p_batch rows of each per call (the task calls again while rows go), so no call
-- holds locks for long. A delivery older than the webhook timestamp tolerance can no longer be
-- replayed, so its row is not needed for deduplication. Returns the rows deleted.
create function prune_webhook_history(p_before timestamptz, p_batch int) returns int
language plpgsql volatile as $$
declare
  v_total int := 0;
  v_rows int;
begin
  delete from webhook_deliveries where event_id in (
    select event_id from webhook_deliveries where received_at < p_before limit p_batch);
  get diagnostics v_rows = row_count;
  v_total := v_total + v_rows;
  delete from webhook_refusal_log where id in (
    select id from webhook_refusal_log where at < p_before order by id limit p_batch);
  get diagnostics v_rows = row_count;
  v_total := v_total + v_rows;
  delete from webhook_refusal_counts where (minute, source, reason, http_status) in (
    select minute, source, reason, http_status from webhook_refusal_counts where minute < p_before limit p_batch);
  get diagnostics v_rows = row_count;
  return v_total + v_rows;
end $$;

-- Fold each series' shards into shard 0 (writers spread over 8 shards by backend pid; the totals
-- are what is read). Concurrent writers to a folded shard wait for the row lock and then insert it
-- anew: nothing is lost. Returns the series folded.
create function compact_metric_series() returns int
language plpgsql volatile as $$
declare
  v_rows int;
begin
  with moved as (
    delete from metric_series where shard <> 0 returning *
  ), summed as (
    select m.name, m.labels, sum(m.count)::bigint as count, sum(m.sum) as sum, min(m.bounds) as bounds,
           case when bool_and(m.buckets is null) then null else
             (select array_agg(t.total order by t.i) from (
                select i, sum(b.buckets[i])::bigint as total
                from moved b, generate_subscripts(b.buckets, 1) i
                where b.name = m.name and b.labels = m.labels group by i) t) end as buckets
    from moved m
    group by m.name, m.labels
  )
  insert into metric_series as s (name, labels, shard, count, sum, bounds, buckets)
  select name, labels, 0, count, sum, bounds, buckets from summed
  on conflict (name, labels, shard) do update
    set count = s.count + excluded.count,
        sum = s.sum + excluded.sum,
        buckets = case when s.buckets is null then null
                       else (select array_agg(a + b order by i)
                             from unnest(s.buckets, excluded.buckets) with ordinality as u(a, b, i)) end;
  get diagnostics v_rows = row_count;
  return v_rows;
end $$;
