-- Prices as data with effective dates: changing a price is an insert; old ledger rows keep the
-- cost computed when they were written. Amounts are integers: micro-dollars, credits.
--   llamaparse / credit        : micro_usd per credit
--   llamaparse / tier:<tier>   : credits per page (unit 'credits_per_page')
--   embeddings / <model>       : micro_usd per million tokens (unit 'micro_usd_per_1m_tokens')
create or replace view cost_by_job as
select j.id as job_id, j.file_name, j.correlation_id, j.state,
       coalesce(sum(l.cost_micro_usd), 0)::bigint as cost_micro_usd, count(l.id)::int as paid_calls
from jobs j left join cost_ledger l on l.job_id = j.id group by j.id;
