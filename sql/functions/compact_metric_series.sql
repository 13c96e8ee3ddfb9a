-- Fold each series' shards into shard 0 (writers spread over 8 shards by backend pid; the totals
-- are what is read). Concurrent writers to a folded shard wait for the row lock and then insert it
-- anew: nothing is lost. Returns the series folded.
create or replace function compact_metric_series() returns int
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
