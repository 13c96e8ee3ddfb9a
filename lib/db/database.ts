// One place that turns configuration into a database: DATABASE_URL when set, else the embedded
// server in TVDB_DATA_DIR (started on demand, released when the process is done with it).
import { createPool, SchemaValidationError, type DatabasePool, type DriverFactory, type Interceptor } from 'slonik';
import { createPgDriverFactory } from '@slonik/pg-driver';
import type { Config } from '../config.ts';
import type { Logger } from '../log.ts';
import { startEmbeddedPostgres } from './embedded.ts';
import { createDatabaseIfMissing } from './admin.ts';
import { DEFAULT_APPLICATION_ROLE, roleOfUrl, urlAsRole, type ApplicationRole } from './applicationRole.ts';
import { guardDatabaseClients, withApplicationName } from './clientErrors.ts';

export const EMBEDDED_DATABASE = 'tvdb';
/** The application role of throwaway clusters (tests, benchmarks); the embedded default's has a password of its own. */
export const EMBEDDED_APPLICATION_ROLE: ApplicationRole = {
  name: DEFAULT_APPLICATION_ROLE,
  password: 'tvdb-app-embedded',
};

export type DatabaseLocation = {
  /** What the server, workers and commands connect as: the application role. */
  url: string;
  /** The owner's URL, for migrations, when known (TVDB_MIGRATION_DATABASE_URL, or the embedded superuser). */
  migrationUrl: string | null;
  /** The application role migrations create and grant. */
  appRole: ApplicationRole;
  embedded: boolean;
  release(): Promise<void>;
};

export async function locateDatabase(config: Config, log: Logger): Promise<DatabaseLocation> {
  if (config.DATABASE_URL) {
    return {
      url: config.DATABASE_URL,
      migrationUrl: config.TVDB_MIGRATION_DATABASE_URL ?? null,
      // With a separate owner URL, DATABASE_URL names the application role (and its password).
      appRole: config.TVDB_MIGRATION_DATABASE_URL ? roleOfUrl(config.DATABASE_URL) : { name: DEFAULT_APPLICATION_ROLE },
      embedded: false,
      release: async () => {},
    };
  }
  const server = await startEmbeddedPostgres({ dataDir: config.TVDB_DATA_DIR, port: config.TVDB_EMBEDDED_PORT, log });
  await createDatabaseIfMissing(server.urlFor('postgres'), EMBEDDED_DATABASE);
  const owner = server.urlFor(EMBEDDED_DATABASE);
  // Set at every start (migrations run as the owner): a data directory of the old code, whose
  // role had a fixed password, gets this one too.
  const appRole: ApplicationRole = { name: DEFAULT_APPLICATION_ROLE, password: server.applicationPassword };
  return {
    url: urlAsRole(owner, appRole),
    migrationUrl: owner,
    appRole,
    embedded: true,
    release: server.release,
  };
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
 * slonik's pg driver forwards a client's 'error' to an emitter of its own, and stops listening to
 * it when a destroy's grace period runs out while the client may still emit (a slow link): the
 * forward then throws, uncaught. One listener of ours on that emitter for the client's whole life
 * (the loss itself is logged once by clientErrors.ts; slonik destroys the client).
 */
const guardedPgDriver: DriverFactory = async (args) => {
  const driver = await createPgDriverFactory()(args);
  return {
    createClient: async () => {
      const client = await driver.createClient();
      client.on('error', () => {});
      return client;
    },
  };
};

/**
 * `idleInTransactionTimeoutS`: Postgres ends a session that sits idle inside a transaction this
 * long. A process frozen mid-transaction (SIGSTOP, a VM pause) would otherwise hold its row locks
 * (a stage lease, the reaper's lock) for as long as it is frozen, and stall every other worker.
 */
export async function createDatabasePool(
  url: string,
  maximumPoolSize = 10,
  session: { idleInTransactionTimeoutS?: number; applicationName?: string } = {},
): Promise<DatabasePool> {
  guardDatabaseClients();
  return createPool(withApplicationName(url, session.applicationName ?? 'app'), {
    driverFactory: guardedPgDriver,
    maximumPoolSize,
    interceptors: [validateRows],
    // slonik's default sends DISCARD ALL each time a connection goes back to the pool: a round trip
    // per query outside a transaction (a third of all statements in bench:pipeline). Nothing here
    // leaves session state behind: settings are transaction-local (set_config(..., true)), locks
    // are transaction locks, and the one caller that sets session settings (buildHnswIndex) resets
    // them itself.
    resetConnection: async () => {},
    // slonik's own default is 60 s; it sets the session parameter itself (a URL option would be overridden).
    ...(session.idleInTransactionTimeoutS
      ? { idleInTransactionSessionTimeout: Math.round(session.idleInTransactionTimeoutS * 1000) }
      : {}),
  });
}
