-- The price in force at a time (null when the catalog has none).
create or replace function price_at(p_service text, p_sku text, p_unit text, p_at timestamptz default now()) returns bigint
language sql stable as $$
  select amount from price_catalog
  where service = p_service and sku = p_sku and unit = p_unit and effective_from <= p_at
  order by effective_from desc limit 1;
$$;
