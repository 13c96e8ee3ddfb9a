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
import { searchRoute } from './searchRoute.ts';
import { crossOrigin, hostAllowed } from '../lib/http/hosts.ts';

// Probes (orchestrators call them by address or service name) answer without the Host check; they
// reveal nothing without the token.
const PROBES = new Set(['/healthz', '/readyz']);
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

export function createApp(ctx: ServerContext) {
  const app = polka({
    onError: (error, req, res) => {
      if (isDatabaseUnavailable(error)) return fail(res, 503, 'unavailable', 'database unavailable; retry later');
      ctx.log.error({ err: error, method: req.method, path: req.path }, 'request failed');
      fail(res, 500, 'internal', 'internal error; see the server log');
    },
    onNoMatch: (req, res) => fail(res, 404, 'not_found', `no route for ${req.method} ${req.path}`),
  });
  // DNS rebinding: the Host header must name this server. CSRF: a browser's state-changing request
  // from another origin is refused (a form POST needs no CORS preflight).
  app.use((req, res, next) => {
    if (!PROBES.has(req.path) && !hostAllowed(req.headers.host, ctx.allowedHosts))
      return fail(
        res,
        421,
        'misdirected',
        'the Host header does not name this server; add the name to TVDB_ALLOWED_HOSTS if it should',
      );
    const site = req.headers['sec-fetch-site'];
    if (
      !SAFE_METHODS.has(req.method) &&
      (crossOrigin(req.headers.origin, req.headers.host) || site === 'cross-site' || site === 'same-site')
    )
      return fail(res, 403, 'cross_origin', 'requests from another origin may not change anything here');
    next();
  });
  const requireToken = tokenAuth(ctx.apiToken, 'Bearer');
  // Browsers cannot add a bearer header to a page they navigate to: the status page (a GET, and
  // only it) also takes the token as a Basic password (any user name), so the browser asks for it.
  const requireTokenInBrowser = tokenAuth(ctx.apiToken, 'Basic');
  const authorized = (req: Request) =>
    !ctx.apiToken || tokenMatches(presentedToken(req.headers.authorization ?? '', 'Bearer'), ctx.apiToken);
  app.get('/healthz', healthzRoute());
  app.get('/readyz', readyzRoute(ctx, authorized));
  app.post('/webhooks/llamaparse/:token', webhookRoute(ctx));
  app.post('/v1/documents', requireToken, documentsRoute(ctx));
  app.get('/v1/jobs', requireToken, jobListRoute(ctx));
  app.get('/v1/jobs/:id', requireToken, jobRoute(ctx));
  app.post('/v1/search', requireToken, searchRoute(ctx));
  app.get('/metrics', requireToken, metricsRoute(ctx));
  app.get('/status', requireTokenInBrowser, statusRoute(ctx));
  mountWebhookSubscriptionRoutes(app, ctx, requireToken);
  app.get('/openapi.json', openApiRoute());
  return app;
}

// `scheme` is what the route takes and what a 401 asks for: Bearer everywhere, Basic (as well) on
// the status page only, so a browser's remembered credentials work nowhere else.
function tokenAuth(token: string | undefined, scheme: 'Bearer' | 'Basic') {
  return (req: Request, res: Response, next: NextHandler) => {
    if (!token) return next(); // no token configured: loopback only (checked at start-up)
    if (!tokenMatches(presentedToken(req.headers.authorization ?? '', scheme), token)) {
      res.setHeader('www-authenticate', scheme === 'Basic' ? 'Basic realm="tvdb", charset="UTF-8"' : 'Bearer');
      return fail(
        res,
        401,
        'unauthorized',
        scheme === 'Basic'
          ? 'the API token is required, as "Authorization: Bearer <TVDB_API_TOKEN>" or as the password of Basic credentials'
          : 'a valid "Authorization: Bearer <TVDB_API_TOKEN>" header is required',
      );
    }
    next();
  };
}

// Compared in constant time (hashes make the lengths equal).
function tokenMatches(given: string | undefined, token: string): boolean {
  if (given === undefined) return false;
  return timingSafeEqual(createHash('sha256').update(given).digest(), createHash('sha256').update(token).digest());
}

function presentedToken(header: string, scheme: 'Bearer' | 'Basic'): string | undefined {
  if (header.startsWith('Bearer ')) return header.slice(7).trim();
  if (scheme === 'Basic' && header.startsWith('Basic ')) {
    const decoded = Buffer.from(header.slice(6).trim(), 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    return colon >= 0 ? decoded.slice(colon + 1) : undefined;
  }
  return undefined;
}
