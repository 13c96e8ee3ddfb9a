-- Cosine similarity of two L2-normalised vectors (their dot product).
create or replace function dot_product(a real[], b real[]) returns double precision
language sql immutable strict parallel safe as $$
  select sum(x * y) from unnest(a, b) as t(x, y);
$$;
