// GET /metrics (Prometheus text format) and GET /status (the read-only HTML status page; ?format=json
// for the snapshot it shows). Both read Postgres at request time and write nothing.
import type { Request, Response } from 'polka';
import { createMetrics } from '../lib/metrics/prometheus.ts';
import { statusFragment, statusPage } from '../lib/status/html.ts';
import { loadSnapshot } from '../lib/status/snapshot.ts';
import type { ServerContext } from './context.ts';
import { fail, json } from './http.ts';
import { z } from 'zod';
import { declareRoute, errorResponses } from './routeRegistry.ts';

export function metricsRoute(ctx: ServerContext) {
  const metrics = createMetrics(ctx.pool);
  return async (_req: Request, res: Response) => {
    const body = await metrics.render();
    res.writeHead(200, { 'content-type': metrics.contentType, 'cache-control': 'no-store' });
    res.end(body);
  };
}

export function statusRoute(ctx: ServerContext) {
  return async (req: Request, res: Response) => {
    const refresh = req.query.refresh === undefined ? 5 : Number(req.query.refresh);
    if (!Number.isFinite(refresh) || refresh < 1 || refresh > 3600)
      return fail(res, 400, 'bad_request', 'refresh must be a number of seconds from 1 to 3600');
    const snapshot = await loadSnapshot(ctx.pool);
    if (req.query.format === 'json') return json(res, 200, snapshot, { 'cache-control': 'no-store' });
    const html = req.query.fragment ? statusFragment(snapshot) : statusPage(snapshot, refresh);
    res.writeHead(200, {
      'content-type': 'text/html; charset=utf-8',
      'cache-control': 'no-store',
      // The page runs only its own inline script and talks only to this server.
      'content-security-policy':
        "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'",
      'x-content-type-options': 'nosniff',
    });
    res.end(html);
  };
}

declareRoute({
  method: 'get',
  path: '/metrics',
  summary: 'Prometheus metrics (text format)',
  tags: ['monitoring'],
  security: 'bearer',
  responses: {
    200: { description: 'the exposition', contentType: 'text/plain; version=0.0.4', schema: z.string() },
    ...errorResponses(401, 503),
  },
});
declareRoute({
  method: 'get',
  path: '/status',
  summary: 'the status page (HTML), or with format=json the snapshot it shows',
  tags: ['monitoring'],
  security: 'bearer_or_basic',
  request: {
    query: z.object({
      refresh: z.coerce.number().min(1).max(3600).optional().meta({ description: 'seconds between refreshes (5)' }),
      format: z.enum(['json']).optional(),
      fragment: z.string().optional().meta({ description: 'only the part the page swaps in' }),
    }),
  },
  responses: {
    200: {
      description: 'the page (text/html), or the snapshot (application/json with format=json)',
      contentType: 'text/html',
      schema: z.string(),
    },
    ...errorResponses(400, 401, 503),
  },
});
