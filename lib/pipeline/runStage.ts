// What every stage task does around its work: validate the payload (old jobs may not match
// today's type), log with correlation_id/job_id/stage on every line, and turn failures into the
// right next step. Permanent: the job moves to its failed state now, with the reason. Transient:
// a note on the job (attempt, class, message, next run) and a rethrow, so graphile-worker retries
// with its backoff; after the last attempt the job moves to its failed state with the last error.
import { hostname } from 'node:os';
import type { JobHelpers } from 'graphile-worker';
import { z } from 'zod';
import { classify, DeferError, StageError } from '../errors.ts';
import { enqueue, type TaskName } from '../jobs/enqueue.ts';
import { jobLogger, type Logger } from '../log.ts';
import { addJobNote } from '../jobs/jobNotes.ts';
import { failJob } from '../jobs/failJob.ts';
import { releaseReservation } from '../costs/budget.ts';
import { raiseAlert } from '../alerts/raiseAlert.ts';
import { deferTask } from './defer.ts';
import { observeMetric, STAGE_ATTEMPT_BOUNDS } from '../metrics/observe.ts';
import { paidPart, stageDef, type Stage } from '../jobs/stages.ts';
import type { PipelineDeps } from './deps.ts';
import { claimStageRun } from '../jobs/stageLeases.ts';
import { holdStageRun, isLeaseLost, type StageRun } from './stageRun.ts';
import { thisProcess } from '../liveness/processIdentity.ts';
import { releaseHolderIfGone } from '../liveness/releaseGone.ts';

export const StagePayload = z.object({ jobId: z.uuid(), correlationId: z.string().min(1) }).passthrough();

export type StageContext = {
  jobId: string;
  correlationId: string;
  payload: z.infer<typeof StagePayload>;
  log: Logger;
  attempt: number;
  maxAttempts: number;
  /** This run's lease on the stage: fence every write with it, confirm it before a paid call. */
  run: StageRun;
};

/** A run that finds another run holding the stage checks again after at most this long. */
const BUSY_RECHECK_S = 5;

export async function runStage(
  stage: Stage,
  rawPayload: unknown,
  helpers: JobHelpers,
  deps: PipelineDeps,
  work: (ctx: StageContext) => Promise<void>,
) {
  const parsed = StagePayload.safeParse(rawPayload);
  if (!parsed.success) {
    // Nothing to retry: the payload will not change. Log loudly; graphile-worker drops the job.
    deps.log.error(
      { task: helpers.job.task_identifier, payload: rawPayload, issues: parsed.error.issues },
      'invalid task payload: dropped',
    );
    return;
  }
  const { jobId, correlationId } = parsed.data;
  const task = helpers.job.task_identifier as TaskName;
  // A task rescheduled for a provider's Retry-After is a new graphile job: it carries the attempts
  // already used, so numbering and the attempt budget continue where they were.
  const prior = typeof parsed.data.priorAttempts === 'number' ? parsed.data.priorAttempts : 0;
  const attempt = prior + helpers.job.attempts;
  const maxAttempts = prior + helpers.job.max_attempts;
  const log = jobLogger(deps.log, { correlation_id: correlationId, job_id: jobId, stage }).child({ attempt });
  const started = performance.now();
  type AttemptOutcome = 'success' | 'deferred' | 'paused' | 'failed' | 'retried' | 'superseded';
  const attempted = (outcome: AttemptOutcome) => ({
    name: 'tvdb_stage_attempt_duration_seconds',
    labels: { stage, task, outcome },
    value: (performance.now() - started) / 1000,
    bounds: STAGE_ATTEMPT_BOUNDS,
  });
  const attemptEnded = (outcome: AttemptOutcome) => {
    const o = attempted(outcome);
    return observeMetric(deps.pool, log, o.name, o.labels, o.value, o.bounds);
  };
  // While the run holds the lease, the attempt's metric is recorded with the lease's release.
  let ended: AttemptOutcome | undefined;
  const deferred = { jobId, task, payload: parsed.data, maxAttempts: deps.attempts(task) };
  // One run of a stage at a time: claim the lease, or leave the stage to the run that has it.
  const leaseS = deps.config.TVDB_WORKER_STALE_S;
  const claimNow = () =>
    claimStageRun(deps.pool, {
      jobId,
      stage,
      owner: `${hostname()}:${process.pid}:${helpers.job.id}`,
      leaseS,
      holder: thisProcess(),
    });
  let claim = await claimNow();
  // The holder is a process of this host that is gone (SIGKILL, OOM): its lease ends now, not at
  // its paid call's deadline. A frozen process still exists and keeps its lease.
  if (claim.outcome === 'busy' && claim.holder && (await releaseHolderIfGone(deps.pool, claim.holder, log)))
    claim = await claimNow();
  if (claim.outcome === 'not_in_stage')
    return log.info({ state: claim.state }, `${stage}: job is ${claim.state}; nothing to do`);
  if (claim.outcome === 'busy') {
    const wait = Math.min(BUSY_RECHECK_S, Math.ceil(claim.retryInS));
    log.info({ retry_in_s: wait }, `${stage}: another run holds the stage; checking again later`);
    await attemptEnded('deferred');
    return deferTask(deps.pool, deferred, new DeferError(wait, { event: 'stage_busy', stage }));
  }
  const run = holdStageRun(
    deps.pool,
    { jobId, stage, token: claim.token },
    { leaseS, renewMs: deps.config.TVDB_HEARTBEAT_MS },
    log,
  );
  try {
    await work({ jobId, correlationId, payload: parsed.data, log, attempt, maxAttempts, run });
    log.debug({ ms: Math.round(performance.now() - started) }, `${stage} task done`);
    ended = 'success';
  } catch (error) {
    if (isLeaseLost(error)) {
      // Another run took the stage over (this one was frozen past its lease): it does the work.
      log.warn({ err: error }, `${stage}: this run lost its lease on the stage; stopped without writing`);
      ended = 'superseded';
      return;
    }
    if (error instanceof DeferError) {
      // Budget, an open breaker or a rate limit: wait without using an attempt.
      ended = 'deferred';
      const event = String(error.note.event);
      const line = `${stage}: ${event.replace(/_/g, ' ')}; deferred`;
      if (event === 'waiting_for_budget') log.warn({ delay_s: error.delayS, ...error.note }, line);
      else log.info({ delay_s: error.delayS, ...error.note }, line);
      await deferTask(deps.pool, deferred, error);
      return;
    }
    const errorClass = classify(error);
    const message = (error as Error).message ?? String(error);
    if (errorClass === 'out_of_credits' && stage !== 'chunk') {
      // The provider's own account is empty: pause like a budget refusal (no attempt used), alert.
      const pauseS = deps.config.TVDB_BUDGET_RECHECK_S * 10;
      log.error({ err: error }, `${stage}: ${message}; pausing`);
      ended = 'paused';
      await raiseAlert(deps.pool, {
        kind: 'provider_out_of_credits',
        dedupeKey: `out_of_credits:${stage}:${new Date().toISOString().slice(0, 13)}`,
        severity: 'critical',
        message: `${message}: ${stage} work is paused and retried every ${pauseS} s`,
        detail: { stage },
      });
      await deferTask(deps.pool, deferred, new DeferError(pauseS, { event: 'waiting_for_credits', error: message }));
      return;
    }
    const lastAttempt = attempt >= maxAttempts;
    if (errorClass === 'permanent' || lastAttempt) {
      const reason = errorClass === 'permanent' ? message : `gave up after ${attempt} attempts: ${message}`;
      log.warn({ err: error, error_class: errorClass }, `${stage} failed: ${reason}`);
      // The stage gives up: its budget hold ends now, not at its expiry (a call still pending is
      // charged as estimated, since its answer never came), and before the job is marked failed,
      // so whoever sees the failure sees no hold left.
      const paid = paidPart(stage);
      if (paid)
        await releaseReservation(deps.pool, jobId, paid.budgetStage).catch((releaseError: unknown) =>
          log.error({ err: releaseError }, 'could not release the budget reservation'),
        );
      // 'gone': the job already left this stage (a stale duplicate task); there is nothing to fail.
      await failJob(deps.pool, jobId, stageDef(stage).failed, {
        error: reason,
        error_class: errorClass,
        attempt,
        who: 'worker',
      });
      ended = 'failed';
      return;
    }
    const retryAfterMs = error instanceof StageError ? error.retryAfterMs : undefined;
    // graphile-worker's backoff: e^attempts seconds. A provider's Retry-After, when given, decides.
    const nextRunAt = new Date(Date.now() + (retryAfterMs ?? Math.exp(Math.min(helpers.job.attempts, 10)) * 1000));
    log.warn(
      { err: error, error_class: errorClass, next_run_at: nextRunAt },
      `${stage} attempt ${attempt}/${maxAttempts} failed; will retry`,
    );
    ended = 'retried';
    await addJobNote(deps.pool, jobId, {
      event: 'attempt_failed',
      stage,
      attempt,
      max_attempts: maxAttempts,
      error_class: errorClass,
      error: message,
      next_run_at: nextRunAt.toISOString(),
    }).catch((noteError: unknown) => log.error({ err: noteError }, 'could not record the failed attempt'));
    if (retryAfterMs !== undefined) {
      await enqueue(
        deps.pool,
        task,
        { ...parsed.data, priorAttempts: attempt },
        { jobKeyMode: 'replace', runAt: nextRunAt, maxAttempts: maxAttempts - attempt },
      );
      return;
    }
    throw error;
  } finally {
    await run.release(ended ? attempted(ended) : undefined);
  }
}
