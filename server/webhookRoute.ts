// POST /webhooks/llamaparse/:token. Authenticate, write one row (and enqueue collection), answer.
// Concurrent deliveries are group-committed (lib/webhooks/groupCommit.ts): one statement per group.
// Order of checks: source address, size (before reading), signature over the exact bytes (before
// parsing), shape, the token's job, the timestamp. Every refusal is recorded and answered fast.
import type { Request, Response } from 'polka';
import { verifySignature } from '../lib/webhooks/signature.ts';
import { Envelope, parseEnvelope, timestampSkew } from '../lib/webhooks/envelope.ts';
import { z } from 'zod';
import { declareRoute, errorResponses } from './routeRegistry.ts';
import { addressAllowed } from '../lib/webhooks/cidr.ts';
import { recordRefusal, TOKEN_SHAPE, type RefusalReason } from '../lib/webhooks/recordDelivery.ts';
import { groupCommitDeliveries } from '../lib/webhooks/groupCommit.ts';
import type { ServerContext } from './context.ts';
import { BodyTooLarge, fail, json, readLimitedBody } from './http.ts';
import { isDatabaseUnavailable } from '../lib/db/unavailable.ts';

/** At most this many deliveries in one statement. */
const GROUP_MAX = 256;

export function webhookRoute(ctx: ServerContext) {
  const recordDelivery = groupCommitDeliveries(ctx.pool, {
    maxAttempts: ctx.maxAttempts,
    windowMs: ctx.webhook.groupWindowMs ?? 1,
    maxBatch: GROUP_MAX,
  });
  return async (req: Request, res: Response) => {
    const address = req.socket.remoteAddress;
    const refuse = async (reason: RefusalReason, status: number, message: string, detail?: string) => {
      if (status === 413) res.setHeader('connection', 'close'); // do not read the rest
      fail(res, status, reason, message);
      // Logged like it is stored: every refusal counted, lines bounded per source and minute.
      const stored = await recordRefusal(
        ctx.pool,
        { reason, status, address, detail: detail ?? message },
        ctx.webhook.refusalRowsPerMinute,
      ).catch((error) => void ctx.log.error({ err: error }, 'could not record a webhook refusal'));
      ctx.log[stored === false ? 'debug' : 'warn']({ reason, status, address, detail }, `webhook refused: ${message}`);
    };
    if (ctx.webhook.allowlist && !addressAllowed(ctx.webhook.allowlist, address)) {
      return refuse('forbidden_source', 403, 'source address not in WEBHOOK_ALLOWED_CIDRS');
    }
    let body: Buffer;
    try {
      body = await readLimitedBody(req, ctx.webhook.maxBodyBytes);
    } catch (error) {
      if (error instanceof BodyTooLarge)
        return refuse('too_large', 413, `body larger than ${ctx.webhook.maxBodyBytes} bytes`, error.message);
      throw error;
    }
    if (ctx.webhook.secrets.length) {
      const signature = req.headers['lc-signature'];
      if (!signature) return refuse('missing_signature', 401, 'LC-Signature header missing');
      if (!verifySignature(body, String(signature), ctx.webhook.secrets))
        return refuse('bad_signature', 401, 'LC-Signature does not match the body');
    }
    const parsed = parseEnvelope(body);
    if (!parsed.ok) return refuse('malformed', 400, parsed.reason);
    const skew = timestampSkew(parsed.envelope.timestamp, (ctx.now ?? Date.now)(), ctx.webhook.toleranceS);
    if (skew !== null) {
      return refuse(
        'stale_timestamp',
        401,
        `timestamp is ${Math.round(Math.abs(skew))} s ${skew > 0 ? 'old' : 'in the future'} (tolerance ${ctx.webhook.toleranceS} s)`,
      );
    }
    // A token tvdb never issues (a NUL, a space, a megabyte) is unknown without asking the database.
    if (!TOKEN_SHAPE.test(req.params.token ?? '')) return refuse('unknown_token', 404, 'no job has this webhook token');
    try {
      const result = await recordDelivery({
        token: req.params.token!,
        envelope: parsed.envelope,
        llamaparseJobId: parsed.llamaparseJobId,
      });
      if (result.outcome === 'unknown_token') return refuse('unknown_token', 404, 'no job has this webhook token');
      if (result.outcome === 'job_mismatch') return refuse('job_mismatch', result.retryable ? 409 : 400, result.detail);
      ctx.log.info(
        {
          job_id: result.jobId,
          event_id: parsed.envelope.event_id,
          event_type: parsed.envelope.event_type,
          outcome: result.outcome,
          stage: 'parse',
        },
        'webhook accepted',
      );
      json(res, 200, { ok: true, duplicate: result.outcome === 'duplicate' });
    } catch (error) {
      if (isDatabaseUnavailable(error)) {
        ctx.log.error({ err: error }, 'webhook: database unavailable; answering 503 so LlamaParse retries');
        return fail(res, 503, 'unavailable', 'database unavailable; retry later');
      }
      throw error;
    }
  };
}

declareRoute({
  method: 'post',
  path: '/webhooks/llamaparse/:token',
  summary: "LlamaParse's webhook for one job (the token is in the URL tvdb gave LlamaParse)",
  description:
    'A nudge: the job is read back from LlamaParse. With LLAMAPARSE_WEBHOOK_SECRET the body must carry LC-Signature.',
  tags: ['llamaparse'],
  security: 'llamaparse_signature',
  request: {
    params: z.object({ token: z.string() }),
    body: { contentType: 'application/json', schema: Envelope },
  },
  responses: {
    200: {
      description: 'accepted (or a duplicate event_id)',
      schema: z.object({ ok: z.literal(true), duplicate: z.boolean() }),
    },
    ...errorResponses(400, 401, 403, 404, 409, 413, 503),
  },
});
