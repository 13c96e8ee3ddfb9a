// Starts the real server in-process on a loopback port, and signs deliveries like LlamaParse.
import { randomUUID } from 'node:crypto';
import type { DatabasePool } from 'slonik';
import { sql } from 'slonik';
import { createLogger } from '../../lib/log.ts';
import { signBody } from '../../lib/webhooks/signature.ts';
import { parseCidrList } from '../../lib/webhooks/cidr.ts';
import { startServer, type RunningServer } from '../../server/start.ts';
import type { ServerContext } from '../../server/context.ts';
import { advanceJob } from '../../lib/jobs/advanceJob.ts';
import { insertJob } from './jobs.ts';
import { loadConfig } from '../../lib/config.ts';
import { searchDeps } from '../../lib/search/search.ts';

export async function testServer(
  pool: DatabasePool,
  overrides: Partial<ServerContext> & { allowCidrs?: string; secrets?: string[] } = {},
) {
  const ctx: ServerContext = {
    pool,
    log: createLogger('silent'),
    intake: {
      maxBytes: 1024 * 1024,
      acceptedKinds: ['pdf', 'docx', 'html', 'markdown', 'text'],
      parserName: 'local',
      maxAttempts: 3,
      zip: { maxUnzippedBytes: 10 * 1024 * 1024, maxRatio: 100 },
    },
    apiToken: undefined,
    webhook: {
      secrets: overrides.secrets ?? ['whsec-current', 'whsec-previous'],
      allowlist: overrides.allowCidrs ? parseCidrList(overrides.allowCidrs) : undefined,
      maxBodyBytes: 2048,
      toleranceS: 300,
      refusalRowsPerMinute: 60,
    },
    uploads: { maxRequestBytes: 64 * 1024 * 1024, maxFiles: 100, maxConcurrent: 8 },
    allowedHosts: new Set(['localhost', '127.0.0.1', '::1']),
    maxAttempts: 3,
    search: searchDeps(loadConfig({}), pool, createLogger('silent')),
    ...overrides,
  };
  const server: RunningServer = await startServer(ctx, '127.0.0.1', 0);
  return { ctx, server, url: server.url };
}

/** A job waiting on LlamaParse job `lpJobId`, with a known webhook token. */
export async function jobAwaitingWebhook(pool: DatabasePool, lpJobId = `lp-${randomUUID()}`) {
  const job = await insertJob(pool);
  const token = `tok${randomUUID().replace(/-/g, '')}`;
  await pool.query(
    sql.unsafe`update jobs set webhook_token = ${token}, llamaparse_job_id = ${lpJobId}, parse_submitted_at = now() where id = ${job.id}::uuid`,
  );
  await advanceJob(pool, job.id, 'uploaded', 'parse_queued');
  return { ...job, token, lpJobId };
}

export function envelope(lpJobId: string, overrides: Record<string, unknown> = {}) {
  return {
    event_id: randomUUID(),
    event_type: 'parse.success',
    timestamp: Date.now() / 1000,
    data: { id: lpJobId, job_id: lpJobId },
    ...overrides,
  };
}

export async function deliver(
  url: string,
  token: string,
  body: string | Buffer,
  options: { secret?: string | null; signature?: string; headers?: Record<string, string> } = {},
) {
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    'user-agent': 'llamaindex-webhook-service/1.0',
    ...options.headers,
  };
  if (options.signature) headers['lc-signature'] = options.signature;
  else if (options.secret !== null) headers['lc-signature'] = signBody(body, options.secret ?? 'whsec-current');
  const response = await fetch(`${url}/webhooks/llamaparse/${token}`, {
    method: 'POST',
    body: typeof body === 'string' ? body : new Uint8Array(body),
    headers,
  });
  return { status: response.status, body: (await response.json().catch(() => null)) as Record<string, unknown> | null };
}
