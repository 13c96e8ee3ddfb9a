// The tiny server of the design card: authenticate, write rows (enqueueing in the same
// transaction), answer. It never calls LlamaParse and does no stage work in a request.
import { createHash, timingSafeEqual } from 'node:crypto';
import polka, { type Request, type Response, type NextHandler } from 'polka';
import type { ServerContext } from './context.ts';
import { fail, json } from './http.ts';
import { isDatabaseUnavailable } from '../lib/db/unavailable.ts';
import { webhookRoute } from './webhookRoute.ts';
import { documentsRoute } from './documentsRoute.ts';
import { jobRoute, jobListRoute } from './jobsRoute.ts';
import { metricsRoute, statusRoute } from './monitoringRoutes.ts';
import { healthzRoute, readyzRoute } from './healthRoutes.ts';
import { mountWebhookSubscriptionRoutes } from './webhookSubscriptionsRoute.ts';
import { openApiRoute } from './openapiRoute.ts';

export function createApp(ctx: ServerContext) {
  const app = polka({
    onError: (error, req, res) => {
      if (isDatabaseUnavailable(error)) return fail(res, 503, 'unavailable', 'database unavailable; retry later');
      ctx.log.error({ err: error, method: req.method, path: req.path }, 'request failed');
      fail(res, 500, 'internal', 'internal error; see the server log');
    },
    onNoMatch: (req, res) => fail(res, 404, 'not_found', `no route for ${req.method} ${req.path}`),
  });
  const requireToken = tokenAuth(ctx.apiToken, 'Bearer');
  // Browsers cannot add a bearer header to a page they navigate to: the status page also takes the
  // token as a Basic password (any user name), so the browser asks for it and sends it from then on.
  const requireTokenInBrowser = tokenAuth(ctx.apiToken, 'Basic');
  app.get('/healthz', healthzRoute());
  app.get('/readyz', readyzRoute(ctx));
  app.post('/webhooks/llamaparse/:token', webhookRoute(ctx));
  app.post('/v1/documents', requireToken, documentsRoute(ctx));
  app.get('/v1/jobs', requireToken, jobListRoute(ctx));
  app.get('/v1/jobs/:id', requireToken, jobRoute(ctx));
  app.get('/metrics', requireToken, metricsRoute(ctx));
  app.get('/status', requireTokenInBrowser, statusRoute(ctx));
  mountWebhookSubscriptionRoutes(app, ctx, requireToken);
  app.get('/openapi.json', openApiRoute());
  return app;
}

// The API token, as "Authorization: Bearer <token>" or as the password of Basic credentials,
// compared in constant time (hashes make the lengths equal). `challenge` is what a 401 asks for.
function tokenAuth(token: string | undefined, challenge: 'Bearer' | 'Basic') {
  const expected = token ? createHash('sha256').update(token).digest() : undefined;
  return (req: Request, res: Response, next: NextHandler) => {
    if (!expected) return next(); // no token configured: loopback only (checked at start-up)
    const given = presentedToken(req.headers.authorization ?? '');
    if (given === undefined || !timingSafeEqual(createHash('sha256').update(given).digest(), expected)) {
      res.setHeader('www-authenticate', challenge === 'Basic' ? 'Basic realm="tvdb", charset="UTF-8"' : 'Bearer');
      return fail(
        res,
        401,
        'unauthorized',
        'a valid "Authorization: Bearer <TVDB_API_TOKEN>" header (or Basic credentials with the token as password) is required',
      );
    }
    next();
  };
}

function presentedToken(header: string): string | undefined {
  if (header.startsWith('Bearer ')) return header.slice(7).trim();
  if (header.startsWith('Basic ')) {
    const decoded = Buffer.from(header.slice(6).trim(), 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    return colon >= 0 ? decoded.slice(colon + 1) : undefined;
  }
  return undefined;
}
