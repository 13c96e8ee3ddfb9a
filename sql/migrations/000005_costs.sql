-- Up Migration

-- Prices as data with effective dates: changing a price is an insert; old ledger rows keep the
-- cost computed when they were written. Amounts are integers: micro-dollars, credits.
--   llamaparse / credit        : micro_usd per credit
--   llamaparse / tier:<tier>   : credits per page (unit 'credits_per_page')
--   embeddings / <model>       : micro_usd per million tokens (unit 'micro_usd_per_1m_tokens')
create table price_catalog (
  id bigint generated always as identity primary key,
  service text not null check (service in ('llamaparse', 'embeddings', 'local')),
  sku text not null,
  unit text not null check (unit in ('micro_usd_per_credit', 'credits_per_page', 'micro_usd_per_1m_tokens', 'micro_usd_per_page')),
  amount bigint not null check (amount >= 0),
  effective_from timestamptz not null,
  source text not null,
  unique (service, sku, unit, effective_from)
);

insert into price_catalog (service, sku, unit, amount, effective_from, source) values
  ('llamaparse', 'credit', 'micro_usd_per_credit', 1250, '2026-01-01', 'LlamaCloud pay-as-you-go: $1.25 per 1,000 credits (docs, 2026)'),
  ('llamaparse', 'tier:fast', 'credits_per_page', 1, '2026-01-01', 'third-party listing 2026-06; confirm with usage.credits'),
  ('llamaparse', 'tier:cost_effective', 'credits_per_page', 3, '2026-01-01', 'third-party listing 2026-06; confirm with usage.credits'),
  ('llamaparse', 'tier:agentic', 'credits_per_page', 10, '2026-01-01', 'third-party listing 2026-06; confirm with usage.credits'),
  ('llamaparse', 'tier:agentic_plus', 'credits_per_page', 45, '2026-01-01', 'third-party listing 2026-06; confirm with usage.credits'),
  ('embeddings', 'text-embedding-3-small', 'micro_usd_per_1m_tokens', 20000, '2026-01-01', 'OpenAI list price $0.02 / 1M tokens'),
  ('embeddings', 'text-embedding-3-large', 'micro_usd_per_1m_tokens', 130000, '2026-01-01', 'OpenAI list price $0.13 / 1M tokens'),
  ('embeddings', 'text-embedding-ada-002', 'micro_usd_per_1m_tokens', 100000, '2026-01-01', 'OpenAI list price $0.10 / 1M tokens'),
  ('local', 'parser', 'micro_usd_per_page', 0, '2026-01-01', 'in-process, free'),
  ('local', 'local-hashing-v1', 'micro_usd_per_1m_tokens', 0, '2026-01-01', 'in-process, free');

-- The price in force at a time (null when the catalog has none).
create function price_at(p_service text, p_sku text, p_unit text, p_at timestamptz default now()) returns bigint
language sql stable as $$
  select amount from price_catalog
  where service = p_service and sku = p_sku and unit = p_unit and effective_from <= p_at
  order by effective_from desc limit 1;
$$;

-- Budgets per service ('llamaparse', 'embeddings') or overall ('all'), per period.
create table budgets (
  id bigint generated always as identity primary key,
  scope text not null check (scope in ('llamaparse', 'embeddings', 'all')),
  period text not null check (period in ('day', 'month', 'total')),
  limit_micro_usd bigint not null check (limit_micro_usd >= 0),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  unique (scope, period)
);

-- Money held for a paid call before it is made, keyed by (job, stage): a retried or
-- crash-recovered stage finds its reservation instead of taking a second. Outstanding = amount
-- minus what the ledger has already charged against it.
create table budget_reservations (
  id bigint generated always as identity primary key,
  job_id uuid not null references jobs (id) on delete restrict,
  stage text not null check (stage in ('parse', 'embed')),
  service text not null check (service in ('llamaparse', 'embeddings')),
  amount_micro_usd bigint not null check (amount_micro_usd >= 0),
  status text not null default 'held' check (status in ('held', 'settled', 'expired')),
  created_at timestamptz not null default now(),
  expires_at timestamptz not null,
  settled_at timestamptz
);
create unique index budget_reservations_one_held on budget_reservations (job_id, stage) where status = 'held';
create index budget_reservations_held_idx on budget_reservations (service) where status = 'held';

-- One row per paid call, append-only. `estimated` marks rows where the provider reported no usage.
create table cost_ledger (
  id bigint generated always as identity primary key,
  at timestamptz not null default now(),
  service text not null check (service in ('llamaparse', 'embeddings')),
  operation text not null,
  units bigint not null check (units >= 0),
  unit text not null,
  cost_micro_usd bigint not null check (cost_micro_usd >= 0),
  estimated boolean not null default false,
  job_id uuid references jobs (id) on delete restrict,
  correlation_id text,
  external_id text,
  reservation_id bigint references budget_reservations (id) on delete restrict
);
create index cost_ledger_at_idx on cost_ledger (at);
create index cost_ledger_job_idx on cost_ledger (job_id);
create index cost_ledger_reservation_idx on cost_ledger (reservation_id);
create trigger _100_append_only before update or delete on cost_ledger
  for each row execute function tg_append_only();
create trigger _101_append_only_truncate before truncate on cost_ledger
  for each statement execute function tg_append_only();

-- Where a budget's current period starts.
create function budget_period_start(p_period text, p_created_at timestamptz, p_at timestamptz default now()) returns timestamptz
language sql stable as $$
  select case p_period when 'day' then date_trunc('day', p_at) when 'month' then date_trunc('month', p_at) else p_created_at end;
$$;

create view budget_status as
with b as (
  select b.*, budget_period_start(b.period, b.created_at) as period_start from budgets b
), spent as (
  select b.id, coalesce(sum(l.cost_micro_usd), 0)::bigint as spent
  from b left join cost_ledger l on l.at >= b.period_start and (b.scope = 'all' or l.service = b.scope)
  group by b.id
), reserved as (
  select b.id, coalesce(sum(greatest(0, r.amount_micro_usd - coalesce(c.charged, 0))), 0)::bigint as reserved
  from b left join budget_reservations r
    on r.status = 'held' and r.expires_at > now() and (b.scope = 'all' or r.service = b.scope)
  left join lateral (select sum(cost_micro_usd) as charged from cost_ledger where reservation_id = r.id) c on true
  group by b.id
)
select b.id as budget_id, b.scope, b.period, b.period_start,
       b.limit_micro_usd, s.spent as spent_micro_usd, r.reserved as reserved_micro_usd,
       b.limit_micro_usd - s.spent - r.reserved as remaining_micro_usd,
       case when b.limit_micro_usd = 0 then 1.0 else round((s.spent + r.reserved)::numeric / b.limit_micro_usd, 4) end as share_used
from b join spent s on s.id = b.id join reserved r on r.id = b.id;

-- Take a reservation if every budget covering the service has room for it; the budget rows are
-- locked (FOR UPDATE) so concurrent reservations are decided one at a time and can never together
-- exceed a limit. Returns the reservation id (an existing held one for the same job and stage is
-- reused), or null when a budget refuses; p_refused_by then says which.
create function reserve_budget(p_job_id uuid, p_stage text, p_service text, p_amount bigint, p_ttl interval default '1 hour')
returns table (reservation_id bigint, refused_by text, reused boolean)
language plpgsql volatile as $$
declare
  v_existing bigint;
  v_budget record;
begin
  select id into v_existing from budget_reservations
  where job_id = p_job_id and stage = p_stage and status = 'held' and expires_at > now();
  if found then
    return query select v_existing, null::text, true;
    return;
  end if;
  -- An expired hold for this (job, stage) is closed before a new one is taken.
  update budget_reservations set status = 'expired' where job_id = p_job_id and stage = p_stage and status = 'held';
  perform 1 from budgets where scope in (p_service, 'all') order by id for update;
  for v_budget in
    select s.* from budget_status s where s.scope in (p_service, 'all') order by s.budget_id
  loop
    if v_budget.remaining_micro_usd < p_amount then
      return query select null::bigint, format('%s %s budget: %s of %s micro-USD spent or reserved, %s needed',
        v_budget.scope, v_budget.period, v_budget.spent_micro_usd + v_budget.reserved_micro_usd, v_budget.limit_micro_usd, p_amount), false;
      return;
    end if;
  end loop;
  return query
    insert into budget_reservations (job_id, stage, service, amount_micro_usd, expires_at)
    values (p_job_id, p_stage, p_service, p_amount, now() + p_ttl)
    returning id, null::text, false;
end $$;

-- Close a reservation: what the ledger charged against it stands; the rest is released.
create function settle_reservation(p_reservation_id bigint) returns void
language sql volatile as $$
  update budget_reservations set status = 'settled', settled_at = now() where id = p_reservation_id and status = 'held';
$$;

create view cost_summary as
select service, operation, date_trunc('day', at)::date as day, count(*)::int as calls, sum(units)::bigint as units,
       sum(cost_micro_usd)::bigint as cost_micro_usd, bool_or(estimated) as includes_estimates
from cost_ledger group by 1, 2, 3;

create view cost_by_job as
select j.id as job_id, j.file_name, j.correlation_id, j.state,
       coalesce(sum(l.cost_micro_usd), 0)::bigint as cost_micro_usd, count(l.id)::int as paid_calls
from jobs j left join cost_ledger l on l.job_id = j.id group by j.id;

create view cost_daily as
select date_trunc('day', at)::date as day, service, sum(cost_micro_usd)::bigint as cost_micro_usd, count(*)::int as calls
from cost_ledger group by 1, 2 order by 1, 2;
