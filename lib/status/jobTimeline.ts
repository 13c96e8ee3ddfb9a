import { sql, type CommonQueryMethods } from 'slonik';
import { z } from 'zod';

/** A job as the API and `tvdb status` show it. */
export const JobRow = z.object({
  id: z.string(),
  file_name: z.string(),
  state: z.string(),
  correlation_id: z.string(),
  last_error: z.string().nullable(),
  created_at: z.number(),
  updated_at: z.number(),
});
export const TimelineRow = z.object({
  kind: z.string(),
  from_state: z.string().nullable(),
  state: z.string(),
  entered_at: z.number(),
  time_in_state_s: z.number().nullable(),
  detail: z.record(z.string(), z.unknown()),
});
export type JobSummary = z.infer<typeof JobRow> & {
  cost_micro_usd: number;
  timeline: Array<z.infer<typeof TimelineRow>>;
};

export async function getJobWithTimeline(db: CommonQueryMethods, jobId: string): Promise<JobSummary | null> {
  const job = await db.maybeOne(sql.type(JobRow)`
    select id::text, file_name, state::text, correlation_id, last_error, created_at, updated_at
    from jobs where id = ${jobId}::uuid`);
  if (!job) return null;
  const timeline = await db.any(sql.type(TimelineRow)`
    select kind, from_state::text, state::text, entered_at,
           round(extract(epoch from time_in_state)::numeric, 3)::float8 as time_in_state_s, detail
    from job_timeline where job_id = ${jobId}::uuid order by event_id`);
  const cost = await db.oneFirst(sql.type(z.object({ c: z.number() }))`
    select coalesce(sum(cost_micro_usd), 0)::float8 as c from cost_ledger where job_id = ${jobId}::uuid`);
  return { ...job, cost_micro_usd: cost, timeline: [...timeline] };
}
