// One delivery attempt over HTTP: a POST to the checked address only (the connection's DNS lookup
// is pinned to it; TLS still verifies the certificate for the host name), redirects never
// followed, an overall deadline covering connect, answer and reading, and at most `excerptBytes`
// of the answer read (the rest is not read: the connection is dropped).
import http from 'node:http';
import https from 'node:https';
import type { LookupFunction } from 'node:net';
import { retryAfterMs } from './backoff.ts';
import type { Destination } from './destination.ts';

/** 'blocked' is decided before any connection (the destination check), never by postWebhook. */
export type AttemptOutcome = 'delivered' | 'rejected' | 'gone' | 'timeout' | 'unreachable' | 'blocked';
export type AttemptResult = {
  outcome: AttemptOutcome;
  status: number | null;
  latencyMs: number;
  excerpt: string | null;
  error: string | null;
  retryAfterMs: number | undefined;
};

export const USER_AGENT = 'tvdb-webhooks/1 (Standard Webhooks)';

export function postWebhook(
  destination: Destination,
  request: { headers: Record<string, string>; body: string },
  limits: { timeoutMs: number; excerptBytes?: number },
): Promise<AttemptResult> {
  const started = performance.now();
  const excerptBytes = limits.excerptBytes ?? 500;
  const pinned: LookupFunction = (_host, options, callback) => {
    if ((options as { all?: boolean }).all)
      (callback as (e: null, a: Array<{ address: string; family: number }>) => void)(null, [
        { address: destination.address, family: destination.family },
      ]);
    else callback(null, destination.address, destination.family);
  };
  return new Promise((resolve) => {
    let settled = false;
    // Before an answer, the deadline is a timeout; after it, the answer counts with what was read.
    let onDeadline = () => failure('timeout', `no answer within ${limits.timeoutMs} ms`);
    const finish = (result: Omit<AttemptResult, 'latencyMs'>) => {
      if (settled) return;
      settled = true;
      clearTimeout(deadline);
      req.destroy();
      resolve({ ...result, latencyMs: Math.round(performance.now() - started) });
    };
    const failure = (outcome: AttemptOutcome, error: string) =>
      finish({ outcome, status: null, excerpt: null, error, retryAfterMs: undefined });
    const client = destination.url.protocol === 'https:' ? https : http;
    const req = client.request(
      destination.url,
      {
        method: 'POST',
        agent: false,
        lookup: pinned,
        headers: {
          ...request.headers,
          'content-type': 'application/json',
          'content-length': String(Buffer.byteLength(request.body)),
          'user-agent': USER_AGENT,
        },
      },
      (res) => {
        const status = res.statusCode ?? 0;
        const chunks: Buffer[] = [];
        let size = 0;
        const done = () => {
          const excerpt = Buffer.concat(chunks)
            .subarray(0, excerptBytes)
            .toString('utf8')
            .replace(/\uFFFD+$/, '');
          const location = res.headers.location;
          finish({
            outcome: status >= 200 && status < 300 ? 'delivered' : status === 410 ? 'gone' : 'rejected',
            status,
            excerpt: excerpt || null,
            error:
              status >= 300 && status < 400
                ? `redirect (HTTP ${status}${location ? ` to ${String(location).slice(0, 200)}` : ''}) not followed`
                : status >= 200 && status < 300
                  ? null
                  : `HTTP ${status}`,
            retryAfterMs: retryAfterMs(res.headers['retry-after'], Date.now()),
          });
        };
        onDeadline = done;
        res.on('data', (chunk: Buffer) => {
          chunks.push(chunk);
          size += chunk.length;
          if (size >= excerptBytes) done(); // enough: the rest is never read
        });
        res.on('end', done);
        res.on('error', done);
      },
    );
    const deadline = setTimeout(() => onDeadline(), limits.timeoutMs);
    req.on('error', (error: NodeJS.ErrnoException) => failure('unreachable', error.code ?? error.message));
    req.end(request.body);
  });
}
