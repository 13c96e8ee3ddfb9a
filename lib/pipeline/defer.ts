// Re-running a stage task later without using an attempt: waiting for budget, an open circuit
// breaker, a rate limit, a provider out of credits.
import { sql } from 'slonik';
import { z } from 'zod';
import type { PipelineDeps } from '../jobs/deps.ts';
import { enqueue, type TaskName } from '../jobs/enqueue.ts';
import { addJobNote } from '../jobs/jobRecord.ts';

/** Re-run the task later (a fresh graphile job: no attempt is used). Notes are not repeated. */
export async function defer(
  deps: PipelineDeps,
  request: { jobId: string; task: TaskName },
  payload: Record<string, unknown>,
  delayS: number,
  note: Record<string, unknown>,
) {
  await deps.pool.transaction(async (tx) => {
    const last = await tx.maybeOneFirst(sql.type(z.object({ e: z.string().nullable() }))`
      select detail ->> 'event' as e from job_events where job_id = ${request.jobId}::uuid order by id desc limit 1`);
    if (last !== note.event) await addJobNote(tx, request.jobId, note);
    await enqueue(tx, request.task, payload, {
      jobKeyMode: 'replace',
      runAt: new Date(Date.now() + delayS * 1000),
      maxAttempts: deps.attempts(request.task),
    });
  });
}
