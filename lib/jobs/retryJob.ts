// Sends a failed job back to the state its stage starts from and queues the stage's task with a
// fresh attempt budget, in one transaction (SQL function retry_job, which reads pipeline_stages).
import { sql, type CommonQueryMethods } from 'slonik';
import { z } from 'zod';
import type { AttemptsFor } from './attempts.ts';
import { FAILED_STATES, STAGES, type JobState } from './stages.ts';

export type RetryOutcome = { jobId: string; from: string; to: string } | { jobId: string; skipped: string };

const Row = z.object({ outcome: z.string(), from_state: z.string().nullable(), to_state: z.string().nullable() });

export async function retryJob(db: CommonQueryMethods, jobId: string, attempts: AttemptsFor): Promise<RetryOutcome> {
  const perStage = Object.fromEntries(STAGES.map((s) => [s.stage, attempts(s.task)]));
  const row = await db.one(sql.type(Row)`
    select outcome, from_state::text, to_state::text from retry_job(${jobId}::uuid, ${sql.jsonb(perStage)})`);
  return row.outcome === 'retried'
    ? { jobId, from: row.from_state!, to: row.to_state! }
    : { jobId, skipped: row.outcome };
}

/** Failed jobs, oldest first; only those in one failed state when given. */
export async function failedJobIds(db: CommonQueryMethods, state?: JobState): Promise<string[]> {
  const states = state ? [state] : FAILED_STATES;
  const rows = await db.anyFirst(sql.type(z.object({ id: z.string() }))`
    select id::text from jobs where state::text = any(${sql.array([...states], 'text')}) order by created_at`);
  return [...rows];
}
