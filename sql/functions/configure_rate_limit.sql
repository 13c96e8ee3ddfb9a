-- Set a bucket's limits (workers do this at start from their configuration); keeps its tokens.
create or replace function configure_rate_limit(p_bucket text, p_capacity numeric, p_refill_per_s numeric) returns void
language sql volatile as $$
  insert into rate_limits (bucket, capacity, refill_per_s, tokens) values (p_bucket, p_capacity, p_refill_per_s, p_capacity)
  on conflict (bucket) do update set capacity = excluded.capacity, refill_per_s = excluded.refill_per_s,
    tokens = least(rate_limits.tokens, excluded.capacity);
$$;
