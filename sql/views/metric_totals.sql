-- The metric families summed over shards, as /metrics exposes them.
create or replace view metric_totals as
select name, labels, sum(count)::bigint as count, sum(sum) as sum, min(bounds) as bounds,
       (select array_agg(total order by i) from (
          select i, sum(s.buckets[i])::bigint as total
          from metric_series s, generate_subscripts(s.buckets, 1) i
          where s.name = m.name and s.labels = m.labels group by i) t) as buckets
from metric_series m
group by name, labels;
