// Deferring is not failing: a task that must wait (budget, an open breaker, a rate limit, a
// provider out of credits) throws DeferError, and the stage wrapper calls this to re-run it later as
// a fresh graphile job (same job key, `replace`), so no attempt is used. The wait's note is added
// to the job's history once per streak (not again while the latest event is the same wait). Every
// deferral is counted by task and reason (tvdb_task_deferrals_total), so a benchmark or a
// dashboard can say which limiter held work back.
import { sql, type DatabasePool } from 'slonik';
import { observeMetricSql } from '../metrics/observe.ts';
import type { DeferError } from '../errors.ts';
import { enqueue, type TaskName } from '../jobs/enqueue.ts';
import { addJobNote, lastEventName } from '../jobs/jobNotes.ts';

export type DeferredTask = { jobId: string; task: TaskName; payload: Record<string, unknown>; maxAttempts: number };

export async function deferTask(pool: DatabasePool, deferred: DeferredTask, error: DeferError) {
  const payload = { ...deferred.payload, ...error.payload };
  for (const [key, value] of Object.entries(payload)) if (value === undefined) delete payload[key];
  await pool.transaction(async (tx) => {
    if ((await lastEventName(tx, deferred.jobId)) !== error.note.event)
      await addJobNote(tx, deferred.jobId, error.note);
    await enqueue(tx, deferred.task, payload, {
      jobKeyMode: 'replace',
      runAt: new Date(Date.now() + error.delayS * 1000),
      maxAttempts: deferred.maxAttempts,
    });
    await tx.query(
      sql.unsafe`select ${observeMetricSql('tvdb_task_deferrals_total', { task: deferred.task, reason: String(error.note.event) })}`,
    );
  });
}
