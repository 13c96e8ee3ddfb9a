// Moves a failed job back to the state its stage starts from, through the transition table, and
// enqueues the stage's task with a fresh attempt budget, in one transaction.
import { sql, type CommonQueryMethods, type DatabasePool } from 'slonik';
import { z } from 'zod';
import { advanceJob } from './advanceJob.ts';
import type { AttemptsFor } from './attempts.ts';
import { enqueue, type TaskName } from './enqueue.ts';
import type { JobState } from './states.ts';

const RETRY: Record<string, { to: JobState; task: TaskName }> = {
  failed_parse: { to: 'parse_queued', task: 'job__parse' },
  failed_chunking: { to: 'parsed', task: 'job__chunk' },
  failed_embedding: { to: 'embedding_queued', task: 'job__embed' },
};

export type RetryOutcome = { jobId: string; from: string; to: string } | { jobId: string; skipped: string };

export async function retryJob(pool: DatabasePool, jobId: string, attempts: AttemptsFor): Promise<RetryOutcome> {
  return pool.transaction(async (tx) => {
    const job = await tx.maybeOne(sql.type(z.object({ state: z.string(), correlation_id: z.string() }))`
      select state::text, correlation_id from jobs where id = ${jobId}::uuid for update`);
    if (!job) return { jobId, skipped: 'no such job' };
    const retry = RETRY[job.state];
    if (!retry) return { jobId, skipped: `job is ${job.state}, not failed` };
    if (job.state === 'failed_parse') await clearLlamaParseJob(tx, jobId);
    await advanceJob(tx, jobId, job.state as JobState, retry.to, { who: 'retry' });
    await enqueue(
      tx,
      retry.task,
      { jobId, correlationId: job.correlation_id },
      { jobKeyMode: 'replace', maxAttempts: attempts(retry.task) },
    );
    return { jobId, from: job.state, to: retry.to };
  });
}

// A LlamaParse job that ended FAILED cannot be collected again: the retry uploads anew.
async function clearLlamaParseJob(tx: CommonQueryMethods, jobId: string) {
  await tx.query(
    sql.unsafe`update jobs set llamaparse_job_id = null, parse_submitted_at = null, parse_resubmissions = 0 where id = ${jobId}::uuid`,
  );
}

export async function failedJobIds(db: CommonQueryMethods, state?: string): Promise<string[]> {
  const rows = await db.anyFirst(sql.type(z.object({ id: z.string() }))`
    select id::text from jobs
    where state in ('failed_parse', 'failed_chunking', 'failed_embedding') and (${state ?? null}::job_state is null or state = ${state ?? null}::job_state)
    order by created_at`);
  return [...rows];
}
