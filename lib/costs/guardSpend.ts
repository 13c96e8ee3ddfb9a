// Before a paid call: take a budget reservation for its estimate. A refusal does not fail the job:
// it throws DeferError, so the task runs again later (a new graphile job, no attempt used), the
// job keeps its queued state with a "waiting_for_budget" event, and resumes by itself when budget
// frees. Above the slow-down share of a budget, work is spaced out instead of stopping abruptly.
import type { CommonQueryMethods } from 'slonik';
import { DeferError } from '../errors.ts';
import { budgetShare, reserveBudget, type BudgetStageName, type Service } from './budget.ts';

export type SpendSettings = { recheckS: number; slowdownShare: number; reservationTtlS: number };

/** From the configuration (its fields, not its type: lib/config.ts imports lib/jobs, which must not reach back to it). */
export const spendSettings = (config: {
  TVDB_BUDGET_RECHECK_S: number;
  TVDB_BUDGET_SLOWDOWN_SHARE: number;
  TVDB_RESERVATION_TTL_S: number;
}): SpendSettings => ({
  recheckS: config.TVDB_BUDGET_RECHECK_S,
  slowdownShare: config.TVDB_BUDGET_SLOWDOWN_SHARE,
  reservationTtlS: config.TVDB_RESERVATION_TTL_S,
});

export type SpendRequest = {
  jobId: string;
  stage: BudgetStageName;
  service: Service;
  amountMicroUsd: number;
  /** This run was already spaced out once (payload.slowed): do not slow it again. */
  slowed: boolean;
  /** The run's stage lease token (see reserveBudget). */
  leaseToken?: string | null;
};

/** Returns the reservation id; throws DeferError when the spend must wait. */
export async function guardSpend(db: CommonQueryMethods, settings: SpendSettings, request: SpendRequest) {
  const { jobId, stage, service } = request;
  if (!request.slowed) {
    const share = await budgetShare(db, service);
    if (share >= settings.slowdownShare && share < 1) {
      // From 0 s at the slow-down share up to the recheck interval near the limit.
      const delayS = Math.ceil(
        ((share - settings.slowdownShare) / Math.max(0.0001, 1 - settings.slowdownShare)) * settings.recheckS,
      );
      if (delayS > 0)
        throw new DeferError(
          delayS,
          { event: 'budget_slowdown', service, share_used: share, delay_s: delayS },
          { payload: { slowed: true } },
        );
    }
  }
  const reservation = await reserveBudget(db, {
    jobId,
    stage,
    service,
    amountMicroUsd: request.amountMicroUsd,
    ttlS: settings.reservationTtlS,
    leaseToken: request.leaseToken ?? null,
  });
  if (reservation.ok) return reservation.reservationId;
  throw new DeferError(
    settings.recheckS,
    { event: 'waiting_for_budget', service, estimate_micro_usd: request.amountMicroUsd, reason: reservation.refusedBy },
    { payload: { slowed: undefined } },
  );
}
