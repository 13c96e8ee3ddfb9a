-- Bucket bounds (seconds) of the delivery latency histogram.
create or replace function webhook_latency_bounds() returns double precision[]
language sql immutable as $$
  select array[0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30]::double precision[]
$$;
