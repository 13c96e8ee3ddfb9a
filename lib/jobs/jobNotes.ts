// Notes on a job's history that do not move it (a failed attempt, a wait, a reconciliation):
// job_events rows of kind 'note', through the SQL function add_job_note.
import { sql, type CommonQueryMethods } from 'slonik';
import { z } from 'zod';

export async function addJobNote(db: CommonQueryMethods, jobId: string, detail: Record<string, unknown>) {
  await db.query(sql.unsafe`select add_job_note(${jobId}::uuid, ${sql.jsonb(detail as never)})`);
}

/** The `event` of the job's latest event (note or move), if any. */
export async function lastEventName(db: CommonQueryMethods, jobId: string): Promise<string | null> {
  return db.maybeOneFirst(sql.type(z.object({ e: z.string().nullable() }))`
    select detail ->> 'event' as e from job_events where job_id = ${jobId}::uuid order by id desc limit 1`);
}
