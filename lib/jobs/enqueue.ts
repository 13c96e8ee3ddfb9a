// Enqueue a graphile-worker task with its SQL API, on the caller's connection: inside a
// transaction the job exists only if the transaction commits (the NOTIFY fires at commit).
import { sql, type CommonQueryMethods } from 'slonik';

export type TaskName = 'job__parse' | 'job__parse_collect' | 'job__chunk' | 'job__embed' | 'alert__deliver';

// Each stage task of a job has one job key, so a job has at most one pending task per stage.
// (SQL uses the same keys: record_webhook_delivery() and the stuck_jobs view.)
const JOB_KEY_PREFIX: Record<TaskName, string> = {
  job__parse: 'parse',
  job__parse_collect: 'collect',
  job__chunk: 'chunk',
  job__embed: 'embed',
  alert__deliver: 'alert',
};

export function jobKeyFor(task: TaskName, jobId: string): string {
  return `${JOB_KEY_PREFIX[task]}:${jobId}`;
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
  await db.query(sql.unsafe`
    select graphile_worker.add_job(
      ${task},
      ${sql.json(payload as never)},
      run_at => ${options.runAt ? options.runAt.toISOString() : null}::timestamptz,
      max_attempts => ${options.maxAttempts ?? null}::int,
      job_key => ${options.jobKey ?? (typeof payload.jobId === 'string' ? jobKeyFor(task, payload.jobId) : null)}::text,
      job_key_mode => ${options.jobKeyMode ?? null}::text,
      priority => ${options.priority ?? null}::int
    )`);
}
