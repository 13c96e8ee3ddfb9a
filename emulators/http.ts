// Small helpers shared by the emulators' Polka servers.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Polka } from 'polka';
import type { z } from 'zod';

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

export async function readBody(req: IncomingMessage, limit = 64 * 1024 * 1024): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) throw Object.assign(new Error('body too large'), { status: 413 });
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Bearer token from the Authorization header, or undefined. */
export function bearer(req: IncomingMessage): string | undefined {
  const header = req.headers.authorization;
  return header?.startsWith('Bearer ') ? header.slice(7).trim() : undefined;
}

/**
 * The admin routes every emulator has, for tests and demos: GET /_emulator/stats, and POST
 * /_emulator/faults to replace its faults (an invalid body is answered 400, its issues under
 * `errorKey`, where the emulated API puts its errors).
 */
export function addAdminRoutes<Faults>(
  app: Polka,
  emulator: { stats: unknown; faults: Faults },
  schema: z.ZodType<Faults>,
  errorKey: 'error' | 'detail',
) {
  app.get('/_emulator/stats', (_req, res) => sendJson(res, 200, emulator.stats));
  app.post('/_emulator/faults', async (req, res) => {
    const parsed = schema.safeParse(JSON.parse((await readBody(req)).toString() || '{}'));
    if (!parsed.success) return sendJson(res, 400, { [errorKey]: parsed.error.issues });
    emulator.faults = parsed.data;
    sendJson(res, 200, emulator.faults);
  });
}
