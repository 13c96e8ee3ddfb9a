// GET /openapi.json: the OpenAPI 3.1 description of this API, generated from the routes'
// declarations (server/routeRegistry.ts). Public: it describes, it reveals nothing stored.
import type { Request, Response } from 'polka';
import { z } from 'zod';
import { openApiDocument } from './openapiDocument.ts';
import { json } from './http.ts';
import { declareRoute } from './routeRegistry.ts';

export const openApiRoute = () => (_req: Request, res: Response) =>
  json(res, 200, openApiDocument(), { 'cache-control': 'no-cache' });

declareRoute({
  method: 'get',
  path: '/openapi.json',
  summary: 'this description (OpenAPI 3.1)',
  tags: ['meta'],
  security: 'none',
  responses: {
    200: {
      description: 'the OpenAPI document',
      schema: z.looseObject({ openapi: z.string().startsWith('3.1'), paths: z.record(z.string(), z.unknown()) }),
    },
  },
});
