// Enqueue a graphile-worker task with its SQL API, on the caller's connection: inside a
// transaction the job exists only if the transaction commits (the NOTIFY fires at commit).
import { sql, type CommonQueryMethods } from 'slonik';
import { jobKeyPrefix, type StageTask } from './stages.ts';

export type TaskName = StageTask | 'alert__deliver';

/** A stage task's job key for a job (stages.ts): a job has at most one pending task of each kind. */
export function jobKeyFor(task: TaskName, jobId: string): string | null {
  const prefix = jobKeyPrefix(task);
  return prefix ? `${prefix}:${jobId}` : null;
}

export type EnqueueOptions = {
  runAt?: Date;
  /** Coalesces: one pending graphile job per key. Default: the task's key for payload.jobId. */
  jobKey?: string;
  jobKeyMode?: 'replace' | 'preserve_run_at' | 'unsafe_dedupe';
  maxAttempts?: number;
  priority?: number;
};

export async function enqueue(
  db: CommonQueryMethods,
  task: TaskName,
  payload: Record<string, unknown>,
  options: EnqueueOptions = {},
) {
  const jobKey = options.jobKey ?? (typeof payload.jobId === 'string' ? jobKeyFor(task, payload.jobId) : null);
  await db.query(sql.unsafe`
    select graphile_worker.add_job(
      ${task},
      ${sql.json(payload as never)},
      run_at => ${options.runAt ? options.runAt.toISOString() : null}::timestamptz,
      max_attempts => ${options.maxAttempts ?? null}::int,
      job_key => ${jobKey}::text,
      job_key_mode => ${options.jobKeyMode ?? null}::text,
      priority => ${options.priority ?? null}::int
    )`);
}
