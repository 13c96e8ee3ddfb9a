-- Count one observation. A histogram passes its bucket bounds (they must not change for a series).
create or replace function observe_metric(p_name text, p_labels jsonb, p_value double precision default 1,
                               p_bounds double precision[] default null)
returns void
language plpgsql volatile as $$
declare
  v_shard smallint := pg_backend_pid() % 8;
  v_slot int;
  v_buckets bigint[];
begin
  if p_bounds is not null then
    v_slot := coalesce((select min(i) from generate_subscripts(p_bounds, 1) i where p_value <= p_bounds[i]),
                       cardinality(p_bounds) + 1);
    v_buckets := array_fill(0::bigint, array[cardinality(p_bounds) + 1]);
    v_buckets[v_slot] := 1;
  end if;
  insert into metric_series as m (name, labels, shard, count, sum, bounds, buckets)
  values (p_name, coalesce(p_labels, '{}'), v_shard, 1, p_value, p_bounds, v_buckets)
  on conflict (name, labels, shard) do update
    set count = m.count + 1,
        sum = m.sum + excluded.sum,
        buckets = case when m.buckets is null then null
                       else (select array_agg(a + b order by i)
                             from unnest(m.buckets, excluded.buckets) with ordinality as u(a, b, i)) end;
end $$;
