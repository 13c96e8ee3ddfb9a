// The moves every stage makes, read from the stage table (lib/jobs/stages.ts), so a task names its
// stage and never a state: begin (start -> in progress, when the stage has such a state) and
// finish (-> done -> handoff, and the next stage's task queued), in the caller's transaction. Each
// is one statement (lib/jobs/stageMoves.ts).
import type { CommonQueryMethods } from 'slonik';
import type { AdvanceOutcome, EventDetail } from '../jobs/advanceJob.ts';
import type { AttemptsFor } from '../jobs/attempts.ts';
import { jobKeyFor } from '../jobs/enqueue.ts';
import { finishStageRun } from '../jobs/stageMoves.ts';
import { STAGES, stageDef, type JobState, type Stage } from '../jobs/stages.ts';
import type { StageRun } from './stageRun.ts';

/** Is the job where this stage's task works on it (its start or in-progress state)? */
export function inStage(stage: Stage, state: JobState): boolean {
  const s = stageDef(stage);
  return state === s.startsFrom || state === s.inProgress;
}

export async function beginStage(run: StageRun, jobId: string, detail: EventDetail = {}): Promise<AdvanceOutcome> {
  const s = stageDef(run.stage);
  const inProgress = s.inProgress;
  if (inProgress === null) return 'already_there';
  return run.begin({ from: s.startsFrom, to: inProgress, detail: { who: 'worker', ...detail } });
}

/** The stage's done move with its detail, the handoff, and the next stage's task; once. Inside
 * the run's write transaction (StageRun.write). */
export async function finishStage(
  tx: CommonQueryMethods,
  stage: Stage,
  job: { jobId: string; correlationId: string },
  detail: EventDetail,
  attempts: AttemptsFor,
): Promise<AdvanceOutcome> {
  const s = stageDef(stage);
  const next = STAGES.find((n) => n.startsFrom === (s.handoffTo ?? s.done));
  return finishStageRun(tx, {
    jobId: job.jobId,
    from: s.inProgress ?? s.startsFrom,
    done: s.done,
    handoff: s.handoffTo,
    detail: { who: 'worker', ...detail },
    next: next
      ? { task: next.task, payload: job, jobKey: jobKeyFor(next.task, job.jobId), maxAttempts: attempts(next.task) }
      : null,
  });
}
