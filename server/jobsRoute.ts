// GET /v1/jobs/:id (state, timeline, error) and GET /v1/jobs?state=...&limit=... (newest first).
import type { Request, Response } from 'polka';
import { z } from 'zod';
import { getJobWithTimeline, JobRow, TimelineRow } from '../lib/status/jobTimeline.ts';
import { listJobs } from '../lib/status/listJobs.ts';
import { JOB_STATES } from '../lib/jobs/stages.ts';
import type { ServerContext } from './context.ts';
import { fail, json } from './http.ts';
import { declareRoute, errorResponses } from './routeRegistry.ts';

const ListQuery = z.object({
  state: z.enum(JOB_STATES).optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
});

export function jobRoute(ctx: ServerContext) {
  return async (req: Request, res: Response) => {
    const id = z.uuid().safeParse(req.params.id);
    if (!id.success) return fail(res, 400, 'bad_request', 'the job id must be a UUID');
    const job = await getJobWithTimeline(ctx.pool, id.data);
    if (!job) return fail(res, 404, 'not_found', `no job ${id.data}`);
    json(res, 200, job);
  };
}

export function jobListRoute(ctx: ServerContext) {
  return async (req: Request, res: Response) => {
    const query = ListQuery.safeParse(req.query);
    if (!query.success)
      return fail(
        res,
        400,
        'bad_request',
        query.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '),
      );
    const jobs = await listJobs(ctx.pool, query.data);
    json(res, 200, { jobs });
  };
}

const JobListed = JobRow.meta({ id: 'Job', description: 'times are epoch milliseconds' });
declareRoute({
  method: 'get',
  path: '/v1/jobs',
  summary: 'the newest jobs, optionally in one state',
  tags: ['jobs'],
  security: 'bearer',
  request: { query: ListQuery },
  responses: {
    200: { description: 'jobs, newest first', schema: z.object({ jobs: z.array(JobListed) }) },
    ...errorResponses(400, 401, 503),
  },
});
declareRoute({
  method: 'get',
  path: '/v1/jobs/:id',
  summary: 'one job: state, error, cost and timeline',
  tags: ['jobs'],
  security: 'bearer',
  request: { params: z.object({ id: z.uuid() }) },
  responses: {
    200: {
      description: 'the job',
      schema: JobRow.extend({ cost_micro_usd: z.number().int(), timeline: z.array(TimelineRow) }).meta({
        id: 'JobDetail',
      }),
    },
    ...errorResponses(400, 401, 404, 503),
  },
});
