// pino JSON logs. Secrets are redacted by path configuration, so a careless log call cannot leak
// them; job work logs through jobLogger so every line carries correlation_id, job_id and stage.
import { pino, type Logger } from 'pino';

export type { Logger };

const REDACT_PATHS = [
  '*.apiKey',
  '*.api_key',
  '*.password',
  '*.secret',
  '*.token',
  '*.authorization',
  '*.Authorization',
  '*.headers.authorization',
  '*.headers.Authorization',
  '*.headers["lc-signature"]',
  'config.LLAMA_CLOUD_API_KEY',
  'config.EMBEDDINGS_API_KEY',
  'config.LLAMAPARSE_WEBHOOK_SECRET',
  'config.TVDB_API_TOKEN',
  'config.DATABASE_URL',
  'config.ALERT_WEBHOOK_SECRET',
  'LLAMA_CLOUD_API_KEY',
  'EMBEDDINGS_API_KEY',
  'LLAMAPARSE_WEBHOOK_SECRET',
  'TVDB_API_TOKEN',
  'databaseUrl',
  'connectionString',
];

export function createLogger(level = 'info', destination?: pino.DestinationStream): Logger {
  return pino(
    {
      level,
      base: { pid: process.pid },
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    destination ?? pino.destination({ fd: 2, sync: false }),
  );
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
