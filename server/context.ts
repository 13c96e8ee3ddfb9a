// What the server's routes need, built once at start-up.
import type { BlockList } from 'node:net';
import type { DatabasePool } from 'slonik';
import type { Logger } from '../lib/log.ts';
import type { IntakePolicy } from '../lib/intake/intakePolicy.ts';
import type { SearchDeps } from '../lib/search/search.ts';

export type ServerContext = {
  pool: DatabasePool;
  log: Logger;
  intake: IntakePolicy;
  apiToken: string | undefined;
  webhook: {
    secrets: string[];
    allowlist: BlockList | undefined;
    maxBodyBytes: number;
    toleranceS: number;
    /** Refusal rows stored per source and minute (all refusals are counted). */
    refusalRowsPerMinute: number;
    /** Deliveries arriving within this many ms of each other are recorded in one statement (default 1). */
    groupWindowMs?: number;
  };
  uploads: { maxRequestBytes: number; maxFiles: number; maxConcurrent: number };
  /** Host names this server answers to (IP addresses always); see lib/http/hosts.ts. */
  allowedHosts: ReadonlySet<string>;
  maxAttempts: number;
  /** Outbound webhooks (subscriptions, callbacks): whether private destinations are allowed. */
  outbound?: { allowPrivate: boolean };
  /** POST /v1/search: the embedder for queries, its guards, the search settings. */
  search: SearchDeps;
  /** Override of the clock, for tests of stale timestamps. */
  now?: () => number;
};
