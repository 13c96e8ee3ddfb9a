// Listen, and close gracefully: stop accepting, let in-flight requests finish, then release.
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { isIP } from 'node:net';
import type { Config } from '../lib/config.ts';
import { ConfigError } from '../lib/config.ts';
import type { Logger } from '../lib/log.ts';
import type { DatabasePool } from 'slonik';
import type { IntakePolicy } from '../lib/intake/intakePolicy.ts';
import { parseCidrList } from '../lib/webhooks/cidr.ts';
import { defaultAllowedHosts } from '../lib/http/hosts.ts';
import { createApp } from './app.ts';
import { attemptsFor } from '../lib/jobs/attempts.ts';
import type { ServerContext } from './context.ts';
import { searchDeps } from '../lib/search/search.ts';
import { createCpuPool, cpuSettings } from '../lib/cpu/pool.ts';

export type RunningServer = { url: string; close(): Promise<void> };

const isLoopback = (host: string) =>
  host === 'localhost' || host === '::1' || (isIP(host) === 4 && host.startsWith('127.'));

/** Configuration the server refuses to start with (checked before anything else happens). */
export function checkServerConfig(config: Config) {
  if (!config.TVDB_API_TOKEN && !isLoopback(config.HOST)) {
    throw new ConfigError(
      `TVDB_API_TOKEN is required to listen on ${config.HOST}: without it the document API is open to anyone who can reach it`,
    );
  }
  serverAllowlist(config);
}

function serverAllowlist(config: Config) {
  try {
    return config.WEBHOOK_ALLOWED_CIDRS ? parseCidrList(config.WEBHOOK_ALLOWED_CIDRS) : undefined;
  } catch (error) {
    throw new ConfigError(`WEBHOOK_ALLOWED_CIDRS: ${(error as Error).message}`);
  }
}

export function serverContext(config: Config, pool: DatabasePool, log: Logger, intake: IntakePolicy): ServerContext {
  checkServerConfig(config);
  const allowlist = serverAllowlist(config);
  return {
    pool,
    log,
    intake,
    apiToken: config.TVDB_API_TOKEN,
    webhook: {
      secrets: config.LLAMAPARSE_WEBHOOK_SECRET ?? [],
      allowlist,
      maxBodyBytes: config.WEBHOOK_MAX_BODY_BYTES,
      toleranceS: config.WEBHOOK_TIMESTAMP_TOLERANCE_S,
      refusalRowsPerMinute: config.WEBHOOK_REFUSAL_ROWS_PER_MINUTE,
    },
    uploads: {
      maxRequestBytes: config.TVDB_MAX_REQUEST_BYTES,
      maxFiles: config.TVDB_MAX_FILES_PER_REQUEST,
      maxConcurrent: config.TVDB_MAX_CONCURRENT_UPLOADS,
    },
    allowedHosts: new Set(
      (config.TVDB_ALLOWED_HOSTS ?? defaultAllowedHosts(config.HOST, config.PUBLIC_BASE_URL)).map((h) =>
        h.toLowerCase().replace(/^\[(.*)\]$/, '$1'),
      ),
    ),
    maxAttempts: attemptsFor(config)('job__parse_collect'),
    outbound: { allowPrivate: config.TVDB_WEBHOOK_ALLOW_PRIVATE },
    // The search query's tokens are counted in a CPU thread of the server's own (started on the
    // first paid search), never on the event loop that answers /healthz.
    search: searchDeps(config, pool, log, undefined, createCpuPool({ ...cpuSettings(config), threads: 1 })),
  };
}

export async function startServer(ctx: ServerContext, host: string, port: number): Promise<RunningServer> {
  const app = createApp(ctx);
  await new Promise<void>((resolve, reject) => {
    app.listen({ host, port }, () => resolve());
    app.server.once('error', reject);
  });
  const server = app.server as Server;
  server.keepAliveTimeout = 5000;
  const { port: actual } = server.address() as AddressInfo;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${actual}`;
  return {
    url,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve()); // stops accepting; resolves when in-flight requests are done
        server.closeIdleConnections();
      }).then(() => ctx.search.cpu?.close()),
  };
}
