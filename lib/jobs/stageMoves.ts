// A stage's begin and finish, each one statement (SQL begin_stage_run, finish_stage_run: migration
// 000061). The moves are advance_job's; what to move from and to is decided by the stage table
// (lib/pipeline/stageSteps.ts), not here.
import { sql, type CommonQueryMethods } from 'slonik';
import { z } from 'zod';
import type { AdvanceOutcome, EventDetail } from './advanceJob.ts';
import type { JobState, Stage } from './stages.ts';

const Outcome = z.object({ outcome: z.enum(['moved', 'already_there']) });

/** Fences the run's lease (TV005 when lost) and moves the job `from` -> `to`, in one statement. */
export async function beginStageRun(
  db: CommonQueryMethods,
  lease: { jobId: string; stage: Stage; token: string },
  move: { from: JobState; to: JobState; detail: EventDetail },
): Promise<AdvanceOutcome> {
  return db.oneFirst(sql.type(Outcome)`
    select begin_stage_run(${lease.jobId}::uuid, ${lease.stage}, ${lease.token}::bigint, ${move.from}::job_state,
                           ${move.to}::job_state, ${sql.jsonb(move.detail as never)}) as outcome`);
}

export type StageFinish = {
  jobId: string;
  from: JobState;
  done: JobState;
  handoff: JobState | null;
  detail: EventDetail;
  next: { task: string; payload: Record<string, unknown>; jobKey: string | null; maxAttempts: number } | null;
};

/** The done move, the handoff move and the next task, in one statement (inside the caller's transaction). */
export async function finishStageRun(tx: CommonQueryMethods, f: StageFinish): Promise<AdvanceOutcome> {
  return tx.oneFirst(sql.type(Outcome)`
    select finish_stage_run(${f.jobId}::uuid, ${f.from}::job_state, ${f.done}::job_state, ${f.handoff}::job_state,
                            ${sql.jsonb(f.detail as never)}, ${f.next?.task ?? null}::text,
                            ${f.next ? sql.json(f.next.payload as never) : null}::json, ${f.next?.jobKey ?? null}::text,
                            ${f.next?.maxAttempts ?? null}::int) as outcome`);
}
