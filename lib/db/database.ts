// One place that turns configuration into a database: DATABASE_URL when set, else the embedded
// server in TVDB_DATA_DIR (started on demand, released when the process is done with it).
import { createPool, SchemaValidationError, type DatabasePool, type Interceptor } from 'slonik';
import type { Config } from '../config.ts';
import type { Logger } from '../log.ts';
import { startEmbeddedPostgres } from './embedded.ts';
import { createDatabaseIfMissing } from './admin.ts';

export const EMBEDDED_DATABASE = 'tvdb';

export type DatabaseLocation = { url: string; embedded: boolean; release(): Promise<void> };

export async function locateDatabase(config: Config, log: Logger): Promise<DatabaseLocation> {
  if (config.DATABASE_URL) {
    return { url: config.DATABASE_URL, embedded: false, release: async () => {} };
  }
  const server = await startEmbeddedPostgres({ dataDir: config.TVDB_DATA_DIR, port: config.TVDB_EMBEDDED_PORT, log });
  await createDatabaseIfMissing(server.urlFor('postgres'), EMBEDDED_DATABASE);
  return { url: server.urlFor(EMBEDDED_DATABASE), embedded: true, release: server.release };
}

// Rows of sql.type(schema) queries are validated at run time (slonik does not, by default).
const validateRows: Interceptor = {
  name: 'validate-rows',
  transformRowAsync: async (context, query, row) => {
    const parser = context.resultParser;
    if (!parser) return row;
    const result = await parser['~standard'].validate(row);
    if (result.issues) throw new SchemaValidationError(query, row, result.issues);
    return result.value as typeof row;
  },
};

/**
 * `idleInTransactionTimeoutS`: Postgres ends a session that sits idle inside a transaction this
 * long. A process frozen mid-transaction (SIGSTOP, a VM pause) would otherwise hold its row locks
 * (a stage lease, the reaper's lock) for as long as it is frozen, and stall every other worker.
 */
export async function createDatabasePool(
  url: string,
  maximumPoolSize = 10,
  session: { idleInTransactionTimeoutS?: number } = {},
): Promise<DatabasePool> {
  return createPool(withSessionSettings(url, session), { maximumPoolSize, interceptors: [validateRows] });
}

function withSessionSettings(url: string, session: { idleInTransactionTimeoutS?: number }): string {
  if (!session.idleInTransactionTimeoutS) return url;
  const parsed = new URL(url);
  const options = parsed.searchParams.get('options') ?? '';
  const setting = `-c idle_in_transaction_session_timeout=${Math.round(session.idleInTransactionTimeoutS * 1000)}`;
  parsed.searchParams.set('options', `${options} ${setting}`.trim());
  return parsed.toString();
}
