// What `tvdb ingest --wait` and `tvdb demo` show while they follow their jobs: where each job is,
// the notes (failed attempts, waits) since the last look, and the totals at the end.
import { sql, type CommonQueryMethods } from 'slonik';
import { z } from 'zod';

export const FollowedJob = z.object({
  id: z.string(),
  state: z.string(),
  file_name: z.string(),
  last_error: z.string().nullable(),
  waiting: z.string().nullable(),
});
export type FollowedJob = z.infer<typeof FollowedJob>;

/** Each job's state; `waiting`: the reason of its latest event when that event is a wait for budget/credits. */
export async function followedJobs(db: CommonQueryMethods, jobIds: string[]) {
  return db.any(sql.type(FollowedJob)`
    select j.id::text, j.state::text, j.file_name, j.last_error,
           (select case when e.detail ->> 'event' in ('waiting_for_budget', 'waiting_for_credits')
                        then coalesce(e.detail ->> 'reason', e.detail ->> 'error') end
            from job_events e where e.job_id = j.id order by e.id desc limit 1) as waiting
    from jobs j where j.id = any(${sql.array(jobIds, 'uuid')})`);
}

const Note = z.object({ id: z.number(), file_name: z.string(), detail: z.unknown() });

/** Failed attempts and waits of the jobs after event `afterId`, oldest first. */
export async function followedNotes(db: CommonQueryMethods, jobIds: string[], afterId: number) {
  return db.any(sql.type(Note)`
    select e.id::int, j.file_name, e.detail from job_events e join jobs j on j.id = e.job_id
    where e.job_id = any(${sql.array(jobIds, 'uuid')}) and e.kind = 'note' and e.id > ${afterId}
      and e.detail ->> 'event' in ('attempt_failed', 'waiting_for_budget', 'waiting_for_credits')
    order by e.id`);
}

const Totals = z.object({ chunks: z.number(), vectors: z.number(), credits: z.number() });

/** Chunks, distinct vectors and LlamaParse credits of the jobs. */
export async function followedTotals(db: CommonQueryMethods, jobIds: string[]) {
  return db.one(sql.type(Totals)`
    select (select count(*) from chunks where job_id = any(${sql.array(jobIds, 'uuid')}))::int as chunks,
           (select count(distinct c.content_sha256) from chunks c join embeddings e on e.content_sha256 = c.content_sha256
             where c.job_id = any(${sql.array(jobIds, 'uuid')}))::int as vectors,
           (select coalesce(sum(r.credits), 0) from jobs j join parse_results r on r.id = j.parse_result_id
             where j.id = any(${sql.array(jobIds, 'uuid')}))::int as credits`);
}
