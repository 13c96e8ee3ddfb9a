import { sql, type CommonQueryMethods } from 'slonik';
import { z } from 'zod';

const HealthRow = z.object({
  state: z.string(),
  jobs: z.number(),
  oldest_age_s: z.number().nullable(),
  entered_last_5m: z.number(),
  entered_last_60m: z.number(),
});
export type HealthRow = z.infer<typeof HealthRow>;

export async function getPipelineHealth(db: CommonQueryMethods): Promise<readonly HealthRow[]> {
  return db.any(sql.type(HealthRow)`
    select state::text, jobs::int,
           round(extract(epoch from oldest_age)::numeric, 1)::float8 as oldest_age_s,
           entered_last_5m::int, entered_last_60m::int
    from pipeline_health`);
}
