// Notes on a job's history that do not move it (a failed attempt, a wait, a reconciliation):
// job_events rows of kind 'note', through the SQL function add_job_note.
import { sql, type CommonQueryMethods } from 'slonik';
import { z } from 'zod';

export async function addJobNote(db: CommonQueryMethods, jobId: string, detail: Record<string, unknown>) {
  await db.query(sql.unsafe`select add_job_note(${jobId}::uuid, ${sql.jsonb(detail as never)})`);
}

/** The note kind the chunk stage writes when it leaves out what is not text (issue 23). */
export const TEXT_LEFT_OUT_NOTE = 'text_left_out';

/** How much clean-up left out before chunking: images replaced by `![alt](image N)`, and characters
 * of base64, hex and filler runs, with the document's tokens before and after. */
export async function noteTextLeftOut(
  db: CommonQueryMethods,
  jobId: string,
  c: {
    tokensBefore: number;
    tokensAfter: number;
    images: number;
    runs: number;
    leftOut: { base64: number; hex: number; filler: number };
  },
) {
  await addJobNote(db, jobId, {
    event: TEXT_LEFT_OUT_NOTE,
    stage: 'chunk',
    images: c.images,
    runs: c.runs,
    chars_left_out: c.leftOut,
    tokens_before: c.tokensBefore,
    tokens_after: c.tokensAfter,
    tokens_left_out: c.tokensBefore - c.tokensAfter,
  });
}

/** The `event` of the job's latest event (note or move), if any. */
export async function lastEventName(db: CommonQueryMethods, jobId: string): Promise<string | null> {
  return db.maybeOneFirst(sql.type(z.object({ e: z.string().nullable() }))`
    select detail ->> 'event' as e from job_events where job_id = ${jobId}::uuid order by id desc limit 1`);
}

/** Has the reconciler already re-queued this job's task while it was in this state? */
export async function reconciledBefore(db: CommonQueryMethods, jobId: string, state: string): Promise<boolean> {
  const n = await db.oneFirst(sql.type(z.object({ n: z.number() }))`
    select count(*)::int as n from job_events
    where job_id = ${jobId}::uuid and kind = 'note' and detail ->> 'event' = 'reconciled' and detail ->> 'state' = ${state}`);
  return n > 0;
}

/** The last error of a stage task graphile-worker gave up on (attempts exhausted), if any. */
export async function strandedTaskError(db: CommonQueryMethods, jobId: string): Promise<string | null> {
  return db.oneFirst(sql.type(z.object({ e: z.string().nullable() }))`select stranded_task_error(${jobId}::uuid) as e`);
}
