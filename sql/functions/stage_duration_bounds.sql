-- Bucket bounds (seconds) for time spent in a state: from a fast local step to a long LlamaParse job.
create or replace function stage_duration_bounds() returns double precision[]
language sql immutable as $$
  select array[0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 900, 1800, 3600]::double precision[]
$$;
