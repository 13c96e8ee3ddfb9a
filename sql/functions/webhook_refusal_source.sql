-- Every refused webhook delivery is counted, per minute, source and reason; only a bounded number
-- per source and minute are also kept as rows of webhook_refusal_log (the rest are only counted), so
-- a flood of forged deliveries updates a counter instead of growing a table with the flood.
create or replace function webhook_refusal_source(p_address inet) returns text
language sql immutable as $$
  select case when p_address is null then 'unknown'
              when family(p_address) = 6 then network(set_masklen(p_address, 64))::text
              else host(p_address) end
$$;
