// Budget reservations and the ledger, through the SQL functions that enforce them.
import { sql, type CommonQueryMethods } from 'slonik';
import { z } from 'zod';

export type Service = 'llamaparse' | 'embeddings';
/**
 * The stage a reservation is for: a paid stage's budget stage (`paid.budgetStage` in the stage
 * table) or 'search'. Any name of table budget_stages (the database refuses others), so a paid stage
 * added to the stage table needs no edit here.
 */
export type BudgetStageName = string;

export type Reservation = { ok: true; reservationId: number; reused: boolean } | { ok: false; refusedBy: string };

export async function reserveBudget(
  db: CommonQueryMethods,
  input: {
    jobId: string;
    stage: BudgetStageName;
    service: Service;
    amountMicroUsd: number;
    ttlS: number;
    /** The calling run's stage lease token: a stale run changes nothing, and only an earlier
     * run's pending call is charged at takeover. */
    leaseToken?: string | null;
  },
): Promise<Reservation> {
  const row = await db.one(sql.type(
    z.object({ reservation_id: z.number().nullable(), refused_by: z.string().nullable(), reused: z.boolean() }),
  )`
    select reservation_id::int, refused_by, reused
    from reserve_budget(${input.jobId}::uuid, ${input.stage}, ${input.service}, ${input.amountMicroUsd}::bigint,
                        make_interval(secs => ${input.ttlS}), ${input.leaseToken ?? null}::bigint)`);
  return row.reservation_id === null
    ? { ok: false, refusedBy: row.refused_by ?? 'a budget' }
    : { ok: true, reservationId: row.reservation_id, reused: row.reused };
}

/** A reservation that belongs to a request rather than a job (a search query's embedding): one
 * per request id, never reused; the request settles it when its call is billed or has failed. */
export async function reserveRequestBudget(
  db: CommonQueryMethods,
  input: { requestId: string; stage: 'search'; service: Service; amountMicroUsd: number; ttlS: number },
): Promise<{ ok: true; reservationId: number } | { ok: false; refusedBy: string }> {
  const row = await db.one(sql.type(
    z.object({ reservation_id: z.number().nullable(), refused_by: z.string().nullable() }),
  )`
    select reservation_id::int, refused_by
    from reserve_request_budget(${input.requestId}::uuid, ${input.stage}, ${input.service}, ${input.amountMicroUsd}::bigint, make_interval(secs => ${input.ttlS}))`);
  return row.reservation_id === null
    ? { ok: false, refusedBy: row.refused_by ?? 'a budget' }
    : { ok: true, reservationId: row.reservation_id };
}

export type LedgerEntry = {
  service: Service;
  operation: string;
  units: number;
  unit: string;
  costMicroUsd: number;
  estimated: boolean;
  jobId: string | null;
  correlationId: string | null;
  externalId: string | null;
  reservationId: number | null;
  /** The stage run's lease token: a stale one is refused by the ledger (null: not from a run). */
  leaseToken?: string | null;
};

export async function recordCost(tx: CommonQueryMethods, entry: LedgerEntry) {
  await tx.query(sql.unsafe`
    insert into cost_ledger (service, operation, units, unit, cost_micro_usd, estimated, job_id, correlation_id, external_id,
                             reservation_id, lease_token)
    values (${entry.service}, ${entry.operation}, ${entry.units}, ${entry.unit}, ${entry.costMicroUsd}, ${entry.estimated},
            ${entry.jobId}::uuid, ${entry.correlationId}, ${entry.externalId}, ${entry.reservationId}, ${entry.leaseToken ?? null}::bigint)`);
}

export async function settleReservation(tx: CommonQueryMethods, reservationId: number) {
  await tx.query(sql.unsafe`select settle_reservation(${reservationId})`);
}

export async function heldReservation(
  db: CommonQueryMethods,
  jobId: string,
  stage: BudgetStageName,
): Promise<number | null> {
  return db.maybeOneFirst(sql.type(z.object({ id: z.number() }))`
    select id::int from budget_reservations where job_id = ${jobId}::uuid and stage = ${stage} and status = 'held' order by id desc limit 1`);
}

/** The highest share of a budget covering the service (0 when there is none). */
export async function budgetShare(db: CommonQueryMethods, service: Service): Promise<number> {
  const share = await db.maybeOneFirst(sql.type(z.object({ s: z.number().nullable() }))`
    select max(share_used)::float8 as s from budget_status where scope in (${service}, 'all')`);
  return share ?? 0;
}

export async function priceAt(
  db: CommonQueryMethods,
  service: string,
  sku: string,
  unit: string,
): Promise<number | null> {
  const price = await db.oneFirst(
    sql.type(z.object({ p: z.bigint().nullable() }))`select price_at(${service}, ${sku}, ${unit}) as p`,
  );
  return price === null ? null : Number(price);
}

/** Is there a ledger row for this provider job already (a collect that ran twice)? An estimate
 * charged for it while its answer was unknown does not count: its real bill replaces it. */
export async function isBilled(db: CommonQueryMethods, service: Service, externalId: string): Promise<boolean> {
  const row = await db.maybeOneFirst(sql.type(z.object({ id: z.number() }))`
    select id::int from cost_ledger where service = ${service} and external_id = ${externalId}
      and operation not in ('unrecorded_call', 'estimate_replaced') limit 1`);
  return row !== null;
}

/** Just before a paid call: the most it can bill is pending against the reservation until its
 * ledger row is written (a call that is never written down is then charged as estimated). */
export async function beginPaidCall(
  db: CommonQueryMethods,
  reservationId: number,
  amountMicroUsd: number,
  leaseToken: string | null,
) {
  await db.query(
    sql.unsafe`select begin_paid_call(${reservationId}, ${amountMicroUsd}::bigint, ${leaseToken}::bigint)`,
  );
}

/** The provider's id of the stage's pending call (a LlamaParse job id), once known: an estimate
 * charged for the call carries it, and the call's real bill then replaces that estimate. */
export async function namePaidCall(
  db: CommonQueryMethods,
  jobId: string,
  stage: 'parse' | 'embed',
  leaseToken: string | null,
  ref: string,
) {
  await db.query(sql.unsafe`select name_paid_call(${jobId}::uuid, ${stage}, ${leaseToken}::bigint, ${ref})`);
}

/** A request's pending call (a search query's embedding) did not bill: refused with an answer. */
export async function clearRequestPaidCall(db: CommonQueryMethods, reservationId: number) {
  await db.query(sql.unsafe`select clear_request_paid_call(${reservationId})`);
}

/** A request's call whose outcome is unknown: charged as estimated, its hold closed. */
export async function chargeRequestPaidCall(db: CommonQueryMethods, reservationId: number, why: string) {
  await db.query(sql.unsafe`select charge_request_paid_call(${reservationId}, ${why})`);
}

/** The stage's pending call is known not to have billed (refused, or looked up and absent). */
export async function clearPaidCall(
  db: CommonQueryMethods,
  jobId: string,
  stage: BudgetStageName,
  leaseToken: string | null,
) {
  await db.query(sql.unsafe`select clear_paid_call(${jobId}::uuid, ${stage}, ${leaseToken}::bigint)`);
}

/** The stage gave up: its hold is released now (a call still pending is charged as estimated). */
export async function releaseReservation(db: CommonQueryMethods, jobId: string, stage: string) {
  await db.query(sql.unsafe`select release_reservation(${jobId}::uuid, ${stage})`);
}

/** Closes expired holds, charging their unrecorded calls as estimated; returns how many. */
export async function expireReservations(db: CommonQueryMethods): Promise<number> {
  return db.oneFirst(sql.type(z.object({ n: z.number() }))`select expire_reservations() as n`);
}

/** When the stage's paid call now pending was started (null: none is pending). */
export async function pendingCallSince(db: CommonQueryMethods, jobId: string, stage: BudgetStageName) {
  const at = await db.maybeOneFirst(sql.type(z.object({ at: z.number().nullable() }))`
    select (extract(epoch from pending_call_at) * 1000)::float8 as at from budget_reservations
    where job_id = ${jobId}::uuid and stage = ${stage} and status = 'held' and pending_call_micro_usd > 0`);
  return at === null || at === undefined ? null : new Date(at);
}
