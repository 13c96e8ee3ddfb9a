-- The limits in force for an embedding model (no row: the catalog has none for it).
create or replace function embedding_model_limits(p_model text, p_at timestamptz default now())
returns table (max_input_tokens bigint, max_inputs_per_request bigint, max_tokens_per_request bigint)
language sql stable as $$
  select i.amount, n.amount, t.amount
  from (select coalesce(price_at('embeddings', p_model, 'max_input_tokens', p_at),
                        price_at('local', p_model, 'max_input_tokens', p_at)) as amount) i,
       (select coalesce(price_at('embeddings', p_model, 'max_inputs_per_request', p_at),
                        price_at('local', p_model, 'max_inputs_per_request', p_at)) as amount) n,
       (select coalesce(price_at('embeddings', p_model, 'max_tokens_per_request', p_at),
                        price_at('local', p_model, 'max_tokens_per_request', p_at)) as amount) t
  where i.amount is not null and n.amount is not null and t.amount is not null;
$$;
