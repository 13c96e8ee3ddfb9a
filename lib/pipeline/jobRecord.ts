// Reading and locking a job row for a stage.
import { sql, type CommonQueryMethods } from 'slonik';
import { z } from 'zod';
import type { JobState } from '../jobs/stages.ts';

const JobRecord = z.object({
  id: z.string(),
  state: z.string(),
  document_id: z.number(),
  file_name: z.string(),
  correlation_id: z.string(),
  media_type: z.string(),
  llamaparse_job_id: z.string().nullable(),
  parse_submitted_at: z.number().nullable(),
  parse_resubmissions: z.number(),
  parse_result_id: z.number().nullable(),
  webhook_token: z.string().nullable(),
  parse_max_pages: z.number().nullable(),
  parse_pages_exact: z.boolean().nullable(),
});
export type JobRecord = Omit<z.infer<typeof JobRecord>, 'state'> & { state: JobState };

const columns = sql.fragment`
  j.id::text, j.state::text, j.document_id::int, j.file_name, j.correlation_id, d.media_type,
  j.llamaparse_job_id, j.parse_submitted_at, j.parse_resubmissions, j.parse_result_id::int, j.webhook_token,
  j.parse_max_pages, j.parse_pages_exact`;

export async function loadJob(db: CommonQueryMethods, jobId: string): Promise<JobRecord> {
  return (await db.one(sql.type(JobRecord)`
    select ${columns} from jobs j join documents d on d.id = j.document_id where j.id = ${jobId}::uuid`)) as JobRecord;
}

/** Inside a transaction: lock the job row and return it (stage steps re-check the state under the lock). */
export async function lockJob(tx: CommonQueryMethods, jobId: string): Promise<JobRecord> {
  return (await tx.one(sql.type(JobRecord)`
    select ${columns} from jobs j join documents d on d.id = j.document_id where j.id = ${jobId}::uuid for update of j`)) as JobRecord;
}

export async function loadDocumentBytes(db: CommonQueryMethods, documentId: number): Promise<Buffer> {
  return db.oneFirst(
    sql.type(z.object({ content: z.instanceof(Buffer) }))`select content from documents where id = ${documentId}`,
  );
}
