// The newest jobs, optionally in one state (GET /v1/jobs).
import { sql, type CommonQueryMethods } from 'slonik';
import { JobRow } from './jobTimeline.ts';

export async function listJobs(db: CommonQueryMethods, query: { state?: string | undefined; limit: number }) {
  return db.any(sql.type(JobRow)`
    select id::text, state::text, file_name, correlation_id, last_error, created_at, updated_at from jobs
    where ${query.state ?? null}::job_state is null or state = ${query.state ?? null}::job_state
    order by created_at desc limit ${query.limit}`);
}
