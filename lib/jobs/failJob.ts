// Move a job into a failed state from wherever it is (SQL function fail_job), recording the reason.
import { sql, type CommonQueryMethods } from 'slonik';
import { sqlState, SQLSTATE } from './advanceJob.ts';
import type { JobState } from './stages.ts';

/** 'moved', or 'gone' when the job already left the stage (a stale duplicate task). */
export async function failJob(
  db: CommonQueryMethods,
  jobId: string,
  failedState: JobState,
  detail: Record<string, unknown>,
): Promise<'moved' | 'gone'> {
  try {
    await db.query(
      sql.unsafe`select fail_job(${jobId}::uuid, ${failedState}::job_state, ${sql.jsonb(detail as never)})`,
    );
    return 'moved';
  } catch (error) {
    if (sqlState(error) !== SQLSTATE.illegalTransition) throw error;
    return 'gone';
  }
}
