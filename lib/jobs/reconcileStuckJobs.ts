// Jobs stranded without a runnable task (the stuck_jobs view) are put back on their way, or ended:
// - a job left between two stages (a move made from psql, outside the transaction that would
//   have queued the next task) is first moved on as its stage would have;
// - a job whose stage task graphile-worker gave up on (attempts exhausted: the process died in
//   every attempt, so the stage wrapper could not record it) moves to the stage's failed state
//   with that task's last error: another round would only repeat what killed the workers;
// - a job whose task is simply gone (deleted) has it queued again, once per state; stranded again
//   in the same state, it fails with a reason rather than looping.
import { sql, type CommonQueryMethods } from 'slonik';
import { z } from 'zod';
import type { Logger } from '../log.ts';
import { advanceJob } from './advanceJob.ts';
import type { AttemptsFor } from './attempts.ts';
import { enqueue } from './enqueue.ts';
import { failJob } from './failJob.ts';
import { addJobNote, reconciledBefore, strandedTaskError } from './jobNotes.ts';
import { COMPLETE_STATE, STAGES, stageOwning, type JobState } from './stages.ts';

const Stuck = z.object({ job_id: z.string(), state: z.string(), correlation_id: z.string() });

export async function reconcileStuckJobs(tx: CommonQueryMethods, attempts: AttemptsFor, log: Logger) {
  const stuck = await tx.any(
    sql.type(Stuck)`select job_id::text, state::text, correlation_id from stuck_jobs limit 100`,
  );
  for (const job of stuck) {
    let state = job.state as JobState;
    for (const s of STAGES) {
      const next = s.queuedFrom === state ? s.startsFrom : s.done === state ? s.handoffTo : null;
      if (next === null) continue;
      await advanceJob(tx, job.job_id, state, next, { who: 'reconciler' });
      state = next;
    }
    const stage = state === COMPLETE_STATE ? undefined : stageOwning(state);
    if (!stage) continue;
    const context = { job_id: job.job_id, correlation_id: job.correlation_id, state, task: stage.task };
    const gaveUp = await strandedTaskError(tx, job.job_id);
    const again = gaveUp === null && (await reconciledBefore(tx, job.job_id, state));
    if (gaveUp !== null || again) {
      const error =
        gaveUp !== null
          ? `the ${stage.task} task failed on every attempt without finishing (the worker process died?): ${gaveUp}`
          : `the ${stage.task} task went missing twice while the job was ${state}`;
      await failJob(tx, job.job_id, stage.failed, { error, error_class: 'permanent', who: 'reconciler' });
      log.error(context, `stranded job failed: ${error}`);
      continue;
    }
    await enqueue(
      tx,
      stage.task,
      { jobId: job.job_id, correlationId: job.correlation_id },
      {
        maxAttempts: attempts(stage.task),
      },
    );
    await addJobNote(tx, job.job_id, { event: 'reconciled', state, action: `re-enqueued ${stage.task}` });
    log.warn(context, 'stranded job re-enqueued');
  }
}
