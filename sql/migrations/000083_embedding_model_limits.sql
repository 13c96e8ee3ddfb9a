-- Up Migration

-- Issue 23: each embedding model's limits live in the catalog its price comes from, keyed by the
-- model (a later collections issue reads them from there): the most tokens per input, inputs per
-- request and tokens summed per request. Limits are catalog rows like prices (service 'embeddings'
-- or 'local', sku = the model, effective dates): a provider raising a limit is an insert.
alter table price_catalog drop constraint price_catalog_unit_check;

alter table price_catalog add constraint price_catalog_unit_check check (unit in (
  'micro_usd_per_credit', 'credits_per_page', 'micro_usd_per_1m_tokens', 'micro_usd_per_page',
  'max_input_tokens', 'max_inputs_per_request', 'max_tokens_per_request'));

insert into price_catalog (service, sku, unit, amount, effective_from, source)
select m.service, m.model, l.unit, l.amount, '2026-01-01', l.source
from (values ('embeddings', 'text-embedding-3-small'), ('embeddings', 'text-embedding-3-large'),
             ('embeddings', 'text-embedding-ada-002'), ('local', 'local-hashing-v1')) as m(service, model)
cross join (values
  ('max_input_tokens', 8192, 'OpenAI API reference, embeddings input: 8,192 tokens per input (cl100k_base)'),
  ('max_inputs_per_request', 2048, 'OpenAI API reference, embeddings input: at most 2,048 inputs per request'),
  ('max_tokens_per_request', 300000, 'OpenAI API reference, embeddings input: 300,000 tokens summed per request')
) as l(unit, amount, source);
