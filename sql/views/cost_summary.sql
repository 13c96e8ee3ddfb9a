-- Prices as data with effective dates: changing a price is an insert; old ledger rows keep the
-- cost computed when they were written. Amounts are integers: micro-dollars, credits.
--   llamaparse / credit        : micro_usd per credit
--   llamaparse / tier:<tier>   : credits per page (unit 'credits_per_page')
--   embeddings / <model>       : micro_usd per million tokens (unit 'micro_usd_per_1m_tokens')
create or replace view cost_summary as
select service, operation, date_trunc('day', at)::date as day, count(*)::int as calls, sum(units)::bigint as units,
       sum(cost_micro_usd)::bigint as cost_micro_usd, bool_or(estimated) as includes_estimates
from cost_ledger group by 1, 2, 3;
