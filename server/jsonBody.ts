// A JSON request body read within a size limit and checked by a zod schema; on failure the answer
// (413, 415 or 400 naming the field) is sent and undefined returned.
import type { Request, Response } from 'polka';
import type { z } from 'zod';
import { BodyTooLarge, fail, readLimitedBody } from './http.ts';

export const JSON_BODY_LIMIT = 64 * 1024;

export async function readJsonBody<S extends z.ZodType>(
  req: Request,
  res: Response,
  schema: S,
): Promise<z.infer<S> | undefined> {
  const type = String(req.headers['content-type'] ?? '');
  const empty = req.headers['content-length'] === '0' || (!type && !req.headers['transfer-encoding']);
  if (!empty && !type.startsWith('application/json')) {
    fail(res, 415, 'unsupported_media_type', 'send a JSON body (Content-Type: application/json)');
    return undefined;
  }
  let value: unknown = {};
  try {
    const body = await readLimitedBody(req, JSON_BODY_LIMIT);
    if (body.length) value = JSON.parse(body.toString('utf8'));
  } catch (error) {
    if (error instanceof BodyTooLarge) fail(res, 413, 'too_large', `the body is over ${JSON_BODY_LIMIT} bytes`);
    else fail(res, 400, 'bad_request', 'the body is not JSON');
    return undefined;
  }
  return parsed(res, schema, value);
}

/** Query strings and route params checked by a schema; 400 naming the field otherwise. */
export function parsed<S extends z.ZodType>(res: Response, schema: S, value: unknown): z.infer<S> | undefined {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  fail(
    res,
    400,
    'bad_request',
    result.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; '),
  );
  return undefined;
}
