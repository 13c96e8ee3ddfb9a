// Cost and budget reads for the CLI and the API.
import { sql, type CommonQueryMethods } from 'slonik';
import { z } from 'zod';

const BudgetRow = z.object({
  budget_id: z.number(),
  scope: z.string(),
  period: z.string(),
  period_start: z.number(),
  limit_micro_usd: z.bigint(),
  spent_micro_usd: z.bigint(),
  reserved_micro_usd: z.bigint(),
  remaining_micro_usd: z.bigint(),
  share_used: z.number(),
});
export type BudgetRow = z.infer<typeof BudgetRow>;

export async function listBudgets(db: CommonQueryMethods) {
  return db.any(sql.type(BudgetRow)`
    select budget_id::int, scope, period, period_start, limit_micro_usd, spent_micro_usd, reserved_micro_usd, remaining_micro_usd, share_used::float8
    from budget_status order by scope, period`);
}

export async function setBudget(
  db: CommonQueryMethods,
  scope: string,
  period: string,
  limitMicroUsd: number,
  restart: boolean,
) {
  await db.query(sql.unsafe`
    insert into budgets (scope, period, limit_micro_usd) values (${scope}, ${period}, ${limitMicroUsd})
    on conflict (scope, period) do update set limit_micro_usd = excluded.limit_micro_usd, updated_at = now(),
      created_at = case when ${restart} then now() else budgets.created_at end`);
}

const CostRow = z.object({
  key: z.string(),
  calls: z.number(),
  units: z.bigint(),
  cost_micro_usd: z.bigint(),
  estimated: z.boolean(),
  estimated_micro_usd: z.bigint(),
});

export async function costBreakdown(db: CommonQueryMethods, by: 'service' | 'operation' | 'day' | 'job') {
  const key = {
    service: sql.fragment`service`,
    operation: sql.fragment`service || ' ' || operation`,
    day: sql.fragment`to_char(date_trunc('day', at), 'YYYY-MM-DD') || ' ' || service`,
    job: sql.fragment`coalesce(job_id::text, '(no job)')`,
  }[by];
  return db.any(sql.type(CostRow)`
    select ${key} as key, count(*)::int as calls, sum(units)::bigint as units, sum(cost_micro_usd)::bigint as cost_micro_usd, bool_or(estimated) as estimated,
           coalesce(sum(cost_micro_usd) filter (where estimated), 0)::bigint as estimated_micro_usd
    from cost_ledger group by 1 order by 1`);
}

const DocumentTokens = z.object({
  job_id: z.string(),
  file_name: z.string(),
  state: z.string(),
  tokens_before_cleanup: z.number().nullable(),
  tokens_after_cleanup: z.number().nullable(),
  tokens_embedded: z.number().nullable(),
  tokens_billed: z.number().nullable(),
});

/** Per document (`tvdb costs --by job`): its parsed text's tokens before and after clean-up (the
 * chunk stage's event), the tokens its chunks send to the embedder (overlap included; content
 * already embedded is reused, not sent again) and the embedding tokens billed to it. */
export async function documentTokens(db: CommonQueryMethods) {
  return db.any(sql.type(DocumentTokens)`
    select j.id::text as job_id, j.file_name, j.state::text as state,
           (e.detail ->> 'tokens_before_cleanup')::int as tokens_before_cleanup,
           (e.detail ->> 'tokens_after_cleanup')::int as tokens_after_cleanup,
           c.tokens as tokens_embedded, l.tokens as tokens_billed
    from jobs j
    left join lateral (select detail from job_events where job_id = j.id and detail ? 'tokens_after_cleanup'
                       order by id desc limit 1) e on true
    left join lateral (select sum(token_count)::int as tokens from chunks where job_id = j.id) c on true
    left join lateral (select sum(units)::int as tokens from cost_ledger
                       where job_id = j.id and service = 'embeddings' and unit = 'tokens') l on true
    where c.tokens is not null or l.tokens is not null
    order by j.created_at, j.id`);
}
