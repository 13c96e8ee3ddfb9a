// Configuration is read once, at the edge, by one zod schema. A bad value stops start-up with a
// message naming the variable and what it expects.
import { availableParallelism } from 'node:os';
import { z } from 'zod';
import { STAGES, type StageDef } from './jobs/stages.ts';

const optionalUrl = z.url().optional();
const positiveInt = (fallback: number) => z.coerce.number().int().positive().default(fallback);
const postgresUrl = z
  .string()
  .refine((value) => /^postgres(ql)?:$/.test(URL.parse(value)?.protocol ?? ''), 'a postgres:// connection URL')
  .optional();
const list = z.string().transform((value) =>
  value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean),
);

/** Variables whose values are never shown, in an error or anywhere else (URLs may hold passwords). */
export const SECRET_VARIABLES = new Set([
  'DATABASE_URL',
  'TVDB_MIGRATION_DATABASE_URL',
  'TVDB_API_TOKEN',
  'LLAMA_CLOUD_API_KEY',
  'EMBEDDINGS_API_KEY',
  'LLAMAPARSE_WEBHOOK_SECRET',
  'ALERT_WEBHOOK_SECRET',
  'ALERT_WEBHOOK_URL',
  'EMBEDDINGS_BASE_URL',
  'LLAMA_CLOUD_BASE_URL',
]);

export const ConfigSchema = z
  .object({
    // The application role's connection (server, workers, every command); see README "Database roles".
    DATABASE_URL: postgresUrl,
    // The owner's connection, for migrations only (`tvdb migrate`, and migrating at start when set).
    TVDB_MIGRATION_DATABASE_URL: postgresUrl,
    TVDB_DATA_DIR: z.string().min(1).default('.tvdb'),
    TVDB_EMBEDDED_PORT: z.coerce.number().int().min(1024).max(65535).default(54329),
    LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).optional(),
    TVDB_DB_POOL_SIZE: positiveInt(10),
    // parse stage
    LLAMA_CLOUD_API_KEY: z.string().min(1).optional(),
    LLAMA_CLOUD_BASE_URL: optionalUrl,
    LLAMAPARSE_TIER: z.enum(['fast', 'cost_effective', 'agentic', 'agentic_plus']).default('cost_effective'),
    LLAMAPARSE_TIMEOUT_MS: positiveInt(60_000),
    LLAMAPARSE_MAX_WAIT_S: positiveInt(1800),
    LLAMAPARSE_RECONCILE_AFTER_S: positiveInt(30),
    PUBLIC_BASE_URL: optionalUrl,
    // Signing secrets, comma-separated to rotate: parsed once, here. The first signs, any verifies.
    LLAMAPARSE_WEBHOOK_SECRET: list
      .pipe(z.array(z.string()).min(1, 'a comma-separated list of at least one secret'))
      .optional(),
    TVDB_MAX_FILE_BYTES: positiveInt(50 * 1024 * 1024),
    // a ZIP container (DOCX, PPTX, XLSX) is refused at intake above either, before it is inflated
    TVDB_MAX_UNZIPPED_BYTES: positiveInt(200 * 1024 * 1024),
    TVDB_MAX_ZIP_RATIO: positiveInt(100),
    // chunk + embed stages
    CHUNK_TARGET_TOKENS: positiveInt(512),
    CHUNK_OVERLAP_TOKENS: z.coerce.number().int().min(0).default(64),
    EMBEDDINGS_PROVIDER: z.enum(['local', 'openai']).default('local'),
    EMBEDDINGS_BASE_URL: optionalUrl,
    EMBEDDINGS_API_KEY: z.string().min(1).optional(),
    EMBEDDINGS_MODEL: z.string().min(1).optional(),
    EMBEDDINGS_DIMENSIONS: z.coerce.number().int().positive().optional(),
    EMBEDDINGS_TIMEOUT_MS: positiveInt(60_000),
    // search: the text search language of chunks and queries, and pgvector's HNSW index
    TVDB_TEXT_SEARCH_LANGUAGE: z
      .string()
      .regex(/^[a-z_][a-z0-9_]*$/i, 'the name of a PostgreSQL text search configuration, e.g. english')
      .default('english'),
    TVDB_HNSW_EF_SEARCH: z.coerce.number().int().min(1).max(1000).default(64),
    TVDB_SEARCH_EXACT_BELOW: z.coerce.number().int().min(0).default(10_000),
    TVDB_HNSW_M: z.coerce.number().int().min(2).max(100).default(16),
    TVDB_HNSW_EF_CONSTRUCTION: z.coerce.number().int().min(4).max(1000).default(128),
    TVDB_INDEX_BUILD_MEMORY: z
      .string()
      .regex(/^\d+(kB|MB|GB)$/, 'a PostgreSQL memory size such as 512MB or 2GB')
      .default('1GB'),
    // workers: tasks at once; by default 4 per core (at most 32): a task mostly waits on the
    // database or a provider, and its CPU work runs in worker threads
    TVDB_WORKER_CONCURRENCY: positiveInt(Math.min(32, 4 * availableParallelism())),
    // CPU work (parsing, chunking, tokens, the local embedder) runs in worker threads: how many
    // (default: the cores, at most the concurrency), and the limits of one document's work
    TVDB_CPU_THREADS: z.coerce.number().int().positive().optional(),
    TVDB_PARSE_TIMEOUT_S: positiveInt(120),
    // (chunking a document needs ~64 MB of heap in its thread; the largest corpus HTML ~150 MB)
    TVDB_PARSE_MEMORY_MB: z.coerce.number().int().min(64).default(256),
    TVDB_MAX_ATTEMPTS: positiveInt(8),
    // and per stage (TVDB_MAX_ATTEMPTS_PARSE, ...): one optional variable per row of the stage table
    ...(Object.fromEntries(STAGES.map((s) => [s.attemptsSetting, z.coerce.number().int().positive().optional()])) as {
      [K in StageDef['attemptsSetting']]: z.ZodOptional<z.ZodCoercedNumber>;
    }),
    // resilience
    LLAMAPARSE_UPLOADS_PER_10S: positiveInt(50),
    EMBEDDINGS_RPM: positiveInt(3000),
    EMBEDDINGS_TPM: positiveInt(1_000_000),
    BREAKER_FAILURE_THRESHOLD: positiveInt(5),
    BREAKER_COOLDOWN_S: positiveInt(30),
    BREAKER_PROBES: positiveInt(1),
    // cost controls
    TVDB_BUDGET_RECHECK_S: positiveInt(30),
    TVDB_BUDGET_SLOWDOWN_SHARE: z.coerce.number().gt(0).max(1).default(0.8),
    TVDB_RESERVATION_TTL_S: positiveInt(3600),
    ALERT_WEBHOOK_URL: optionalUrl,
    ALERT_WEBHOOK_SECRET: z.string().min(1).optional(),
    // pipeline alerts (evaluated every minute): a stage failing more than this share of at least
    // TVDB_ALERT_MIN_ATTEMPTS attempts over the window; one alert per condition and window
    TVDB_ALERT_WINDOW_MIN: positiveInt(15),
    TVDB_ALERT_FAILURE_RATE: z.coerce.number().gt(0).max(1).default(0.5),
    TVDB_ALERT_MIN_ATTEMPTS: positiveInt(5),
    TVDB_POLL_INTERVAL_MS: positiveInt(1000),
    TVDB_HEARTBEAT_MS: positiveInt(5000),
    TVDB_WORKER_STALE_S: positiveInt(30),
    // outbound webhooks (tvdb webhooks, callback_url): destinations on loopback, private or
    // link-local addresses are refused unless allowed; retries back off from the base for the window;
    // a subscription failing for longer than DISABLE_AFTER is disabled with an alert
    TVDB_WEBHOOK_ALLOW_PRIVATE: z.stringbool().default(false),
    TVDB_WEBHOOK_TIMEOUT_MS: positiveInt(10_000),
    TVDB_WEBHOOK_RETRY_BASE_MS: positiveInt(5000),
    TVDB_WEBHOOK_RETRY_FOR_H: z.coerce.number().positive().default(24),
    TVDB_WEBHOOK_DISABLE_AFTER_H: z.coerce.number().positive().default(12),
    // server
    PORT: z.coerce.number().int().min(0).max(65535).default(8080),
    HOST: z.string().default('127.0.0.1'),
    TVDB_API_TOKEN: z.string().min(16, 'at least 16 characters').optional(),
    WEBHOOK_ALLOWED_CIDRS: z.string().optional(),
    WEBHOOK_MAX_BODY_BYTES: positiveInt(64 * 1024),
    WEBHOOK_TIMESTAMP_TOLERANCE_S: positiveInt(300),
    WEBHOOK_REFUSAL_ROWS_PER_MINUTE: positiveInt(60),
    // uploads (POST /v1/documents): streamed to disk, bounded per request and in number
    TVDB_MAX_REQUEST_BYTES: positiveInt(512 * 1024 * 1024),
    TVDB_MAX_FILES_PER_REQUEST: positiveInt(100),
    TVDB_MAX_CONCURRENT_UPLOADS: positiveInt(8),
    // Host names the server answers to (DNS rebinding); unset: the loopback names, HOST, PUBLIC_BASE_URL's
    TVDB_ALLOWED_HOSTS: list.optional(),
    // history kept by the retention task (webhook deliveries and refusals)
    TVDB_RETENTION_DAYS: positiveInt(30),
  })
  .refine((c) => c.TVDB_WORKER_STALE_S * 1000 >= 3 * c.TVDB_HEARTBEAT_MS, {
    // A window of fewer than three heartbeats takes a live worker that missed one beat for dead.
    path: ['TVDB_WORKER_STALE_S'],
    message: 'must cover at least three heartbeats (3 x TVDB_HEARTBEAT_MS)',
  });

export type Config = z.infer<typeof ConfigSchema>;

export class ConfigError extends Error {
  override name = 'ConfigError';
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  // An empty variable means "unset", as in most shells' `FOO= cmd`.
  const present = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const result = ConfigSchema.safeParse(present);
  if (!result.success) {
    // The variable and the rule; the value only where it cannot be a secret.
    const lines = result.error.issues.map((issue) => {
      const name = String(issue.path[0] ?? '');
      const shown = SECRET_VARIABLES.has(name) ? 'value not shown: it is secret' : `got ${JSON.stringify(env[name])}`;
      return `  ${name}: ${issue.message} (${shown})`;
    });
    throw new ConfigError(`invalid configuration:\n${lines.join('\n')}`);
  }
  return result.data;
}
