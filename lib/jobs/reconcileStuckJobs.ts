// Jobs stranded without a task (the stuck_jobs view) are put back on their way: a job left
// between two stages (moves made from psql, outside the transaction that would have queued the
// next task) is moved on as its stage would have, then the owning stage's task is queued again.
import { sql, type CommonQueryMethods } from 'slonik';
import { z } from 'zod';
import type { Logger } from '../log.ts';
import { advanceJob } from './advanceJob.ts';
import type { AttemptsFor } from './attempts.ts';
import { enqueue } from './enqueue.ts';
import { addJobNote } from './jobNotes.ts';
import { COMPLETE_STATE, STAGES, stageOwning, type JobState } from './stages.ts';

const Stuck = z.object({ job_id: z.string(), state: z.string(), correlation_id: z.string() });

export async function reconcileStuckJobs(tx: CommonQueryMethods, attempts: AttemptsFor, log: Logger) {
  const stuck = await tx.any(
    sql.type(Stuck)`select job_id::text, state::text, correlation_id from stuck_jobs limit 100`,
  );
  for (const job of stuck) {
    let state = job.state as JobState;
    // Moves made in one transaction with their enqueue cannot strand; these can only come from outside.
    for (const s of STAGES) {
      const next = s.queuedFrom === state ? s.startsFrom : s.done === state ? s.handoffTo : null;
      if (next === null) continue;
      await advanceJob(tx, job.job_id, state, next, { who: 'reconciler' });
      state = next;
    }
    const stage = state === COMPLETE_STATE ? undefined : stageOwning(state);
    if (!stage) continue;
    await enqueue(
      tx,
      stage.task,
      { jobId: job.job_id, correlationId: job.correlation_id },
      {
        maxAttempts: attempts(stage.task),
      },
    );
    await addJobNote(tx, job.job_id, { event: 'reconciled', action: `re-enqueued ${stage.task}` });
    log.warn(
      { job_id: job.job_id, correlation_id: job.correlation_id, state, task: stage.task },
      'stranded job re-enqueued',
    );
  }
}
