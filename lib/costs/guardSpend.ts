// Before a paid call: take a budget reservation for its estimate. A refusal does not fail the job:
// the task is scheduled again (a new graphile job, so no attempt is used), the job keeps its queued
// state with a "waiting_for_budget" event, and resumes by itself when budget frees. Above the
// slow-down share of a budget, work is spaced out instead of stopping abruptly at the limit.
import type { PipelineDeps } from '../../worker/buildDeps.ts';
import type { Logger } from '../log.ts';
import type { TaskName } from '../jobs/enqueue.ts';
import { defer } from '../jobs/defer.ts';
import { budgetShare, reserveBudget, type Service } from './budget.ts';

export type SpendRequest = {
  jobId: string;
  stage: 'parse' | 'embed';
  service: Service;
  amountMicroUsd: number;
  task: TaskName;
  payload: Record<string, unknown>;
  log: Logger;
};

export async function guardSpend(
  deps: PipelineDeps,
  request: SpendRequest,
): Promise<{ ok: true; reservationId: number } | { ok: false }> {
  const { jobId, stage, service, task, payload, log } = request;
  if (!payload.slowed) {
    const share = await budgetShare(deps.pool, service);
    const slowFrom = deps.config.TVDB_BUDGET_SLOWDOWN_SHARE;
    if (share >= slowFrom && share < 1) {
      // From 0 s at the slow-down share up to the recheck interval near the limit.
      const delayS = Math.ceil(
        ((share - slowFrom) / Math.max(0.0001, 1 - slowFrom)) * deps.config.TVDB_BUDGET_RECHECK_S,
      );
      if (delayS > 0) {
        await defer(deps, request, { ...payload, slowed: true }, delayS, {
          event: 'budget_slowdown',
          service,
          share_used: share,
          delay_s: delayS,
        });
        log.info(
          { share_used: share, delay_s: delayS },
          `${stage}: ${service} budget at ${Math.round(share * 100)}%: slowing down`,
        );
        return { ok: false };
      }
    }
  }
  const reservation = await reserveBudget(deps.pool, {
    jobId,
    stage,
    service,
    amountMicroUsd: request.amountMicroUsd,
    ttlS: deps.config.TVDB_RESERVATION_TTL_S,
  });
  if (reservation.ok) return { ok: true, reservationId: reservation.reservationId };
  const { slowed: _slowed, ...rest } = payload;
  await defer(deps, request, rest, deps.config.TVDB_BUDGET_RECHECK_S, {
    event: 'waiting_for_budget',
    service,
    estimate_micro_usd: request.amountMicroUsd,
    reason: reservation.refusedBy,
  });
  log.warn({ reason: reservation.refusedBy }, `${stage}: waiting for budget`);
  return { ok: false };
}
