// GET /healthz (the process answers) and GET /readyz (the database is reachable and migrated).
import type { Request, Response } from 'polka';
import { z } from 'zod';
import { pendingMigrations } from '../lib/db/migrate.ts';
import type { ServerContext } from './context.ts';
import { json } from './http.ts';
import { declareRoute } from './routeRegistry.ts';

export const healthzRoute = () => (_req: Request, res: Response) => json(res, 200, { ok: true });

/** A short code for anyone; the details (pending migrations, the database's error) with the token. */
export function readyzRoute(ctx: ServerContext, authorized: (req: Request) => boolean) {
  return async (req: Request, res: Response) => {
    const detail = (text: string) => (authorized(req) ? { detail: text } : {});
    try {
      const pending = await pendingMigrations(ctx.pool);
      if (pending.length)
        return json(res, 503, {
          ok: false,
          reason: 'migrations_pending',
          ...detail(`not applied: ${pending.join(', ')}`),
        });
      json(res, 200, { ok: true });
    } catch (error) {
      json(res, 503, { ok: false, reason: 'database_unreachable', ...detail((error as Error).message) });
    }
  };
}

const Ok = z.object({ ok: z.literal(true) });
declareRoute({
  method: 'get',
  path: '/healthz',
  summary: 'the process is alive',
  tags: ['health'],
  security: 'none',
  responses: { 200: { description: 'alive', schema: Ok } },
});
declareRoute({
  method: 'get',
  path: '/readyz',
  summary: 'the database is reachable and every migration is applied',
  tags: ['health'],
  security: 'none',
  responses: {
    200: { description: 'ready', schema: Ok },
    503: {
      description: 'not ready: a short code, and with the API token the details',
      schema: z.object({
        ok: z.literal(false),
        reason: z.enum(['migrations_pending', 'database_unreachable']),
        detail: z.string().optional(),
      }),
    },
  },
});
