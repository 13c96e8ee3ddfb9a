// The filters a search takes (file name, job ids, correlation id), as SQL conditions on the job of a
// chunk (alias `j`). Only completed jobs are ever searched: a job still in the pipeline, or failed,
// may have half its chunks embedded.
import { sql } from 'slonik';
import { fileNamePattern } from './fileNamePattern.ts';

export type SearchFilters = {
  fileName?: string | undefined;
  jobIds?: readonly string[] | undefined;
  correlationId?: string | undefined;
};

export const hasFilters = (f: SearchFilters) =>
  f.fileName !== undefined || (f.jobIds?.length ?? 0) > 0 || f.correlationId !== undefined;

export function jobConditions(f: SearchFilters) {
  const conditions = [sql.fragment`j.state = 'complete'`];
  if (f.fileName !== undefined) {
    const { like, wholePath } = fileNamePattern(f.fileName);
    conditions.push(
      wholePath
        ? sql.fragment`j.file_name like ${like}`
        : sql.fragment`regexp_replace(j.file_name, '^.*/', '') like ${like}`,
    );
  }
  if (f.jobIds?.length) conditions.push(sql.fragment`j.id = any(${sql.array([...f.jobIds], 'uuid')})`);
  if (f.correlationId !== undefined) conditions.push(sql.fragment`j.correlation_id = ${f.correlationId}`);
  return sql.join(conditions, sql.fragment` and `);
}
