// Leases on (job, stage) with fencing tokens (sql/functions/claim_stage_run.sql and its neighbours): the one
// run of a stage that may call providers and write. Tokens are bigint in SQL, strings here.
import { sql, type CommonQueryMethods } from 'slonik';
import { z } from 'zod';
import type { JobState, Stage } from './stages.ts';
import { observeMetricSql } from '../metrics/observe.ts';

/** The process holding a lease, as lib/liveness/processIdentity.ts names it (null: uncheckable). */
export type LeaseHolder = { domain: string; pid: number; pidStart: string };

export type Claim =
  | { outcome: 'claimed'; token: string; state: JobState }
  | { outcome: 'busy'; state: JobState; retryInS: number; holder: LeaseHolder | null }
  | { outcome: 'not_in_stage'; state: JobState };

const ClaimRow = z.object({
  outcome: z.enum(['claimed', 'busy', 'not_in_stage']),
  token: z.string().nullable(),
  state: z.string(),
  retry_in_s: z.number(),
  holder_domain: z.string().nullable(),
  holder_pid: z.number().nullable(),
  holder_pid_start: z.string().nullable(),
});

export async function claimStageRun(
  db: CommonQueryMethods,
  input: { jobId: string; stage: Stage; owner: string; leaseS: number; holder?: LeaseHolder | null },
): Promise<Claim> {
  const h = input.holder ?? null;
  const row = await db.one(sql.type(ClaimRow)`
    select outcome, token::text, state::text, retry_in_s, holder_domain, holder_pid, holder_pid_start
    from claim_stage_run(${input.jobId}::uuid, ${input.stage}, ${input.owner}, make_interval(secs => ${input.leaseS}),
                         ${h?.domain ?? null}, ${h?.pid ?? null}::int, ${h?.pidStart ?? null})`);
  const state = row.state as JobState;
  if (row.outcome === 'claimed') return { outcome: 'claimed', token: row.token!, state };
  if (row.outcome === 'busy') {
    const holder =
      row.holder_domain !== null && row.holder_pid !== null && row.holder_pid_start !== null
        ? { domain: row.holder_domain, pid: row.holder_pid, pidStart: row.holder_pid_start }
        : null;
    return { outcome: 'busy', state, retryInS: row.retry_in_s, holder };
  }
  return { outcome: 'not_in_stage', state };
}

/** Sets the lease to expire `forS` from now (`atLeast`: never earlier than it already does).
 * False when the token is no longer the stage's. */
export async function extendStageLease(
  db: CommonQueryMethods,
  lease: { jobId: string; stage: Stage; token: string },
  forS: number,
  atLeast: boolean,
): Promise<boolean> {
  const row = await db.maybeOneFirst(sql.type(z.object({ ok: z.boolean().nullable() }))`
    select extend_stage_lease(${lease.jobId}::uuid, ${lease.stage}, ${lease.token}::bigint, make_interval(secs => ${forS}), ${atLeast}) as ok`);
  return row === true;
}

/** First statement of a run's write transaction: refuses a stale token (SQLSTATE TV005). */
export async function fenceStageRun(tx: CommonQueryMethods, lease: { jobId: string; stage: Stage; token: string }) {
  await tx.query(sql.unsafe`select fence_stage_run(${lease.jobId}::uuid, ${lease.stage}, ${lease.token}::bigint)`);
}

/** A metric to record with the statement (see lib/metrics/observe.ts). */
export type Observation = { name: string; labels: Record<string, string>; value: number; bounds?: number[] };

/** Ends the run's lease; with `observe`, records that metric in the same statement (one round trip). */
export async function releaseStageLease(
  db: CommonQueryMethods,
  lease: { jobId: string; stage: Stage; token: string },
  observe?: Observation,
) {
  const metric = observe
    ? sql.fragment`, ${observeMetricSql(observe.name, observe.labels, observe.value, observe.bounds)}`
    : sql.fragment``;
  await db.query(
    sql.unsafe`select release_stage_lease(${lease.jobId}::uuid, ${lease.stage}, ${lease.token}::bigint)${metric}`,
  );
}
