-- Reserved = outstanding of live holds, plus the pending call of an expired hold not yet charged.
--
-- What the migrations that defined it earlier said (still true unless said otherwise above):
-- (000005)
-- Prices as data with effective dates: changing a price is an insert; old ledger rows keep the
-- cost computed when they were written. Amounts are integers: micro-dollars, credits.
--   llamaparse / credit        : micro_usd per credit
--   llamaparse / tier:<tier>   : credits per page (unit 'credits_per_page')
--   embeddings / <model>       : micro_usd per million tokens (unit 'micro_usd_per_1m_tokens')
create or replace view budget_status as
with b as (
  select b.*, budget_period_start(b.period, b.created_at) as period_start from budgets b
), spent as (
  select b.id, coalesce(sum(l.cost_micro_usd), 0)::bigint as spent
  from b left join cost_ledger l on l.at >= b.period_start and (b.scope = 'all' or l.service = b.scope)
  group by b.id
), reserved as (
  select b.id, coalesce(sum(case when r.expires_at > now()
                                 then greatest(0, r.amount_micro_usd - coalesce(c.charged, 0))
                                 else r.pending_call_micro_usd end), 0)::bigint as reserved
  from b left join budget_reservations r
    on r.status = 'held' and (r.expires_at > now() or r.pending_call_micro_usd > 0)
       and (b.scope = 'all' or r.service = b.scope)
  left join lateral (select sum(cost_micro_usd) as charged from cost_ledger where reservation_id = r.id) c on true
  group by b.id
)
select b.id as budget_id, b.scope, b.period, b.period_start,
       b.limit_micro_usd, s.spent as spent_micro_usd, r.reserved as reserved_micro_usd,
       b.limit_micro_usd - s.spent - r.reserved as remaining_micro_usd,
       case when b.limit_micro_usd = 0 then 1.0 else round((s.spent + r.reserved)::numeric / b.limit_micro_usd, 4) end as share_used
from b join spent s on s.id = b.id join reserved r on r.id = b.id;
