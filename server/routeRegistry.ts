// The API's routes, as each route file declares them next to its handler: method, path, auth,
// request and response schemas (zod, the same objects the handlers parse with). GET /openapi.json
// is generated from these declarations, and a test checks that every route the server registers
// is declared here and answers as declared. A new route: its handler file calls declareRoute.
import { z } from 'zod';

/** How a route authenticates (see server/app.ts): what the OpenAPI document says it requires. */
export type Security = 'none' | 'bearer' | 'bearer_or_basic' | 'llamaparse_signature';

export type ResponseDoc = {
  description: string;
  /** Default application/json. */
  contentType?: string;
  /** No schema: a response without a body. */
  schema?: z.ZodType;
};

export type RouteDoc = {
  method: 'get' | 'post' | 'put' | 'patch' | 'delete';
  /** Polka's pattern, e.g. /v1/jobs/:id. */
  path: string;
  summary: string;
  description?: string;
  tags: string[];
  security: Security;
  request?: {
    params?: z.ZodObject;
    query?: z.ZodObject;
    headers?: z.ZodObject;
    body?: { contentType: string; schema: z.ZodType; required?: boolean };
  };
  responses: Record<number, ResponseDoc>;
};

const routes = new Map<string, RouteDoc>();

export const routeKey = (method: string, path: string) => `${method.toUpperCase()} ${path}`;

export function declareRoute(doc: RouteDoc): RouteDoc {
  routes.set(routeKey(doc.method, doc.path), doc);
  return doc;
}

export const declaredRoutes = (): RouteDoc[] => [...routes.values()];

/** Errors are JSON {error, message} everywhere (server/http.ts fail). */
export const ErrorBody = z
  .object({ error: z.string(), message: z.string() })
  .meta({ id: 'Error', description: 'what went wrong: a short code and a sentence' });

const ERROR_TEXT: Record<number, string> = {
  400: 'the request is malformed (the message says which part)',
  401: 'no valid credentials',
  403: 'refused',
  404: 'no such thing',
  409: 'conflicts with the current state (the message says why)',
  413: 'the body is too large',
  415: 'unsupported content type',
  422: 'nothing in the request could be accepted',
  503: 'the database is unavailable; retry later',
};

/** Error responses in the {error, message} shape, with default descriptions. */
export function errorResponses(...statuses: number[]): Record<number, ResponseDoc> {
  return Object.fromEntries(statuses.map((s) => [s, { description: ERROR_TEXT[s] ?? 'error', schema: ErrorBody }]));
}
