// pino JSON logs. Secrets are redacted when a line is written, so a careless log call cannot leak
// them: any value under a secret-shaped key (token, secret, password, apiKey, authorization,
// signature, cookie, a *_DATABASE_URL, the secret configuration variables, ...) at any depth, in
// the logged object, child bindings and serialized errors; and in every string (messages, error
// messages and stacks, nested values) URL credentials (user:password@), secret-shaped query
// parameters, bearer tokens and the webhook token in /webhooks/llamaparse/<token>. Job work logs
// through jobLogger so every line carries correlation_id, job_id and stage.
import { pino, type Logger } from 'pino';

export type { Logger };

const CENSOR = '[redacted]';

// Configuration variables whose whole value is secret (lib/config.ts SECRET_VARIABLES, and URLs
// that may carry a secret in their path, such as a chat webhook).
const SECRET_NAMES = new Set(
  [
    'DATABASE_URL',
    'TVDB_MIGRATION_DATABASE_URL',
    'TEST_DATABASE_URL',
    'TVDB_API_TOKEN',
    'LLAMA_CLOUD_API_KEY',
    'EMBEDDINGS_API_KEY',
    'LLAMAPARSE_WEBHOOK_SECRET',
    'ALERT_WEBHOOK_SECRET',
    'ALERT_WEBHOOK_URL',
    'alertWebhookUrl',
    'databaseUrl',
    'connectionString',
    'dsn',
  ].map((name) => normalise(name)),
);
// A key is secret-shaped when one of its words (camelCase, snake_case, kebab-case) is one of these,
// or when two adjacent words are one of the pairs.
const SECRET_WORDS = new Set([
  'password',
  'passwd',
  'pwd',
  'secret',
  'secrets',
  'token',
  'apikey',
  'authorization',
  'auth',
  'cookie',
  'credential',
  'credentials',
  'signature',
  'passphrase',
]);
const SECRET_PAIRS = new Set(['api key', 'private key', 'access key', 'secret key', 'session id', 'set cookie']);

function normalise(key: string) {
  return key.toLowerCase().replace(/[^a-z0-9]/g, '');
}

/** Whether a value under this key is secret. */
export function isSecretKey(key: string): boolean {
  if (SECRET_NAMES.has(normalise(key))) return true;
  const words = key
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter(Boolean);
  for (let i = 0; i < words.length; i++) {
    if (SECRET_WORDS.has(words[i]!)) return true;
    if (i > 0 && SECRET_PAIRS.has(`${words[i - 1]} ${words[i]}`)) return true;
  }
  return false;
}

const STRING_PATTERNS: Array<[RegExp, string]> = [
  // scheme://user:password@host, scheme://token@host
  [/\b([a-z][a-z0-9+.-]*:\/\/)[^\s/?#@"'<>]+@/gi, `$1${CENSOR}@`],
  // ?token=..., &api_key=..., &X-Amz-Signature=...
  [
    /([?&;][^=&\s"'#]*(?:token|secret|password|passwd|key|sig|signature|auth|code|session|credential)[^=&\s"'#]*=)[^&\s"'#]+/gi,
    `$1${CENSOR}`,
  ],
  // the per-job token of LlamaParse's webhook URL
  [/(\/webhooks\/llamaparse\/)[^/?#\s"']+/gi, `$1${CENSOR}`],
  // Authorization header values
  [/\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]{8,}/g, `$1 ${CENSOR}`],
  // Standard Webhooks secrets
  [/\bwhsec_[A-Za-z0-9+/=]+/g, `whsec_${CENSOR}`],
];

/** A string with URL credentials, secret query parameters, bearer tokens and webhook tokens replaced. */
export function redactString(text: string): string {
  let out = text;
  for (const [pattern, replacement] of STRING_PATTERNS) out = out.replace(pattern, replacement);
  return out;
}

const MAX_DEPTH = 10;

/** A copy of `value` with secrets redacted (the original is not changed). */
export function redactValue(value: unknown, depth = 0, seen = new WeakSet<object>()): unknown {
  if (typeof value === 'string') return redactString(value);
  if (value === null || typeof value !== 'object') return value;
  if (seen.has(value)) return '[Circular]';
  if (depth > MAX_DEPTH) return '[too deep]';
  seen.add(value);
  try {
    if (value instanceof Error) return redactValue(pino.stdSerializers.err(value), depth, seen);
    if (Array.isArray(value)) return value.map((item) => redactValue(item, depth + 1, seen));
    if (Buffer.isBuffer(value) || ArrayBuffer.isView(value)) return `[${value.byteLength} bytes]`;
    if (value instanceof Date) return value;
    if (value instanceof URL) return redactString(value.href);
    if (typeof (value as { toJSON?: unknown }).toJSON === 'function')
      return redactValue((value as { toJSON: () => unknown }).toJSON(), depth, seen);
    const out: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) {
      // Numbers and booleans are never secrets (token counts, has_secret flags).
      out[key] =
        isSecretKey(key) && item !== null && item !== undefined && typeof item !== 'number' && typeof item !== 'boolean'
          ? CENSOR
          : redactValue(item, depth + 1, seen);
    }
    return out;
  } finally {
    seen.delete(value);
  }
}

const redactObject = (object: Record<string, unknown>) => redactValue(object) as Record<string, unknown>;

export function createLogger(level = 'info', destination?: pino.DestinationStream): Logger {
  const logger = pino(
    {
      level,
      base: { pid: process.pid },
      formatters: { log: redactObject, bindings: redactObject },
      serializers: {
        msg: (message: unknown) => (typeof message === 'string' ? redactString(message) : message),
        // formatters.log has already serialized (and redacted) errors
        err: (error: unknown) => (error instanceof Error ? redactValue(error) : error),
      },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    destination ?? pino.destination({ fd: 2, sync: false }),
  );
  // pino applies formatters.bindings to the root's bindings only: a child's are redacted here
  // (children inherit this method through their prototype).
  const child = logger.child as unknown as (this: unknown, bindings: pino.Bindings, options?: unknown) => Logger;
  logger.child = function (this: unknown, bindings: pino.Bindings, options?: unknown) {
    return child.call(this, redactObject(bindings), options);
  } as unknown as typeof logger.child;
  return logger;
}

export type JobContext = { correlation_id: string; job_id: string; stage: string };

export function jobLogger(log: Logger, ctx: JobContext): Logger {
  return log.child(ctx);
}

/** A URL with its password replaced, for messages. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return '[unparseable url]';
  }
}
