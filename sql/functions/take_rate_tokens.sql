-- Take p_cost tokens: returns 0 when granted, else the seconds until they will be there (nothing
-- is taken then). An unknown bucket is unlimited.
create or replace function take_rate_tokens(p_bucket text, p_cost numeric) returns double precision
language plpgsql volatile as $$
declare
  r rate_limits;
  v_tokens numeric;
begin
  select * into r from rate_limits where bucket = p_bucket for update;
  if not found then return 0; end if;
  v_tokens := least(r.capacity, r.tokens + extract(epoch from (clock_timestamp() - r.updated_at)) * r.refill_per_s);
  if v_tokens >= least(p_cost, r.capacity) then
    update rate_limits set tokens = v_tokens - least(p_cost, r.capacity), updated_at = clock_timestamp() where bucket = p_bucket;
    return 0;
  end if;
  update rate_limits set tokens = v_tokens, updated_at = clock_timestamp() where bucket = p_bucket;
  return ((least(p_cost, r.capacity) - v_tokens) / r.refill_per_s)::float8;
end $$;
