// The tiny server of the design card: authenticate, write rows (enqueueing in the same
// transaction), answer. It never calls LlamaParse and does no stage work in a request.
import { createHash, timingSafeEqual } from 'node:crypto';
import polka, { type Request, type Response, type NextHandler } from 'polka';
import { pendingMigrations } from '../lib/db/migrate.ts';
import type { ServerContext } from './context.ts';
import { fail, json } from './http.ts';
import { isDatabaseUnavailable } from '../lib/db/unavailable.ts';
import { webhookRoute } from './webhookRoute.ts';
import { documentsRoute } from './documentsRoute.ts';
import { jobRoute, jobListRoute } from './jobsRoute.ts';

export function createApp(ctx: ServerContext) {
  const app = polka({
    onError: (error, req, res) => {
      if (isDatabaseUnavailable(error)) return fail(res, 503, 'unavailable', 'database unavailable; retry later');
      ctx.log.error({ err: error, method: req.method, path: req.path }, 'request failed');
      fail(res, 500, 'internal', 'internal error; see the server log');
    },
    onNoMatch: (req, res) => fail(res, 404, 'not_found', `no route for ${req.method} ${req.path}`),
  });
  const requireToken = bearerAuth(ctx.apiToken);
  app.get('/healthz', (_req, res) => json(res, 200, { ok: true }));
  app.get('/readyz', async (_req, res) => {
    try {
      const pending = await pendingMigrations(ctx.pool);
      if (pending.length) return json(res, 503, { ok: false, reason: `migrations not applied: ${pending.join(', ')}` });
      json(res, 200, { ok: true });
    } catch (error) {
      json(res, 503, { ok: false, reason: `database unreachable: ${(error as Error).message}` });
    }
  });
  app.post('/webhooks/llamaparse/:token', webhookRoute(ctx));
  app.post('/v1/documents', requireToken, documentsRoute(ctx));
  app.get('/v1/jobs', requireToken, jobListRoute(ctx));
  app.get('/v1/jobs/:id', requireToken, jobRoute(ctx));
  return app;
}

// Bearer token for the API, compared in constant time (hashes make the lengths equal).
function bearerAuth(token: string | undefined) {
  const expected = token ? createHash('sha256').update(token).digest() : undefined;
  return (req: Request, res: Response, next: NextHandler) => {
    if (!expected) return next(); // no token configured: loopback only (checked at start-up)
    const header = req.headers.authorization ?? '';
    const given = header.startsWith('Bearer ')
      ? createHash('sha256').update(header.slice(7).trim()).digest()
      : undefined;
    if (!given || !timingSafeEqual(given, expected)) {
      res.setHeader('www-authenticate', 'Bearer');
      return fail(res, 401, 'unauthorized', 'a valid "Authorization: Bearer <TVDB_API_TOKEN>" header is required');
    }
    next();
  };
}
