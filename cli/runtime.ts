// What every command needs: configuration, a logger, a migrated database, and an orderly exit.
// Shutdown runs registered steps in reverse order (workers drain before the pool closes, the pool
// closes before an embedded server is released); a second Ctrl-C exits at once.
import type { DatabasePool } from 'slonik';
import { loadConfig, type Config } from '../lib/config.ts';
import { createLogger, type Logger } from '../lib/log.ts';
import { locateDatabase, createDatabasePool, type DatabaseLocation } from '../lib/db/database.ts';
import { migrate, pendingMigrations, type MigrateResult } from '../lib/db/migrate.ts';
import { connectsAsOwner } from '../lib/db/connectsAsOwner.ts';
import { ConfigError } from '../lib/config.ts';
import { guardDatabaseClients } from '../lib/db/clientErrors.ts';

export type Runtime = {
  config: Config;
  log: Logger;
  db: DatabaseLocation;
  pool: DatabasePool;
  /** Register a step to run at shutdown (last registered runs first). */
  onShutdown(step: () => Promise<void>): void;
  /** Resolves when SIGINT/SIGTERM arrives. */
  stopping: Promise<string>;
  /** What `migrate: 'owner'` applied. */
  migrated?: MigrateResult;
};

// With DATABASE_URL alone (no owner URL), a current schema needs nothing; pending migrations are
// applied with it only if its role may (an owner's URL, as before roles were split), else the
// command stops and says how.
async function migrateOnStart(db: DatabaseLocation, pool: DatabasePool, log: Logger) {
  const pending = await pendingMigrations(pool);
  if (!pending.length) return;
  try {
    await migrate(db.url, log, { appRole: db.appRole });
  } catch (error) {
    if ((error as { code?: string }).code !== '42501') throw error;
    throw new ConfigError(
      `${pending.length} migration(s) are not applied and DATABASE_URL's role may not apply them: ` +
        'run "tvdb migrate" with TVDB_MIGRATION_DATABASE_URL set to the owner (README: Database roles)',
    );
  }
}

export async function withRuntime<T>(
  options: {
    /** true (default): migrate as the owner when its URL is known, else check; 'owner': migrate with
     * TVDB_MIGRATION_DATABASE_URL, or DATABASE_URL when that is all there is (`tvdb migrate`). */
    migrate?: boolean | 'owner';
    poolSize?: number;
    /** when LOG_LEVEL is unset */ logLevel?: string;
    /** checks of the configuration to make before touching any database */ validate?: (config: Config) => void;
    /** what the first Ctrl-C message adds after "stopping" */ stopNote?: string;
  },
  body: (rt: Runtime) => Promise<T>,
): Promise<T> {
  const config = loadConfig();
  options.validate?.(config);
  // Interactive commands default to warnings only, so logs do not drown their output.
  const log = createLogger(config.LOG_LEVEL ?? options.logLevel ?? 'warn');
  // Every PostgreSQL connection of the process, from here on, outlives its errors (clientErrors.ts).
  guardDatabaseClients(log);
  const steps: Array<() => Promise<void>> = [];
  let signalled = 0;
  let resolveStopping!: (signal: string) => void;
  const stopping = new Promise<string>((resolve) => (resolveStopping = resolve));
  const onSignal = (signal: NodeJS.Signals) => {
    signalled += 1;
    if (signalled > 1) {
      log.warn({ signal }, 'second signal: exiting now');
      process.exit(130);
    }
    log.info({ signal }, 'shutting down');
    process.stderr.write(
      `\n${signal}: stopping${options.stopNote ?? '; tasks in hand finish first'} (Ctrl-C again to exit at once)\n`,
    );
    resolveStopping(signal);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  const db = await locateDatabase(config, log);
  steps.push(db.release);
  try {
    // The owner migrates first: on a first run the application role exists only after it.
    let migrated: MigrateResult | undefined;
    if (options.migrate === 'owner') migrated = await migrate(db.migrationUrl ?? db.url, log, { appRole: db.appRole });
    else if (options.migrate !== false && db.migrationUrl) await migrate(db.migrationUrl, log, { appRole: db.appRole });
    const pool = await createDatabasePool(db.url, options.poolSize ?? config.TVDB_DB_POOL_SIZE, {
      idleInTransactionTimeoutS: config.TVDB_WORKER_STALE_S,
    });
    steps.push(() => pool.end());
    if (options.migrate === true || options.migrate === undefined) {
      if (!db.migrationUrl) await migrateOnStart(db, pool, log);
      if (!db.embedded && (await connectsAsOwner(pool)))
        process.stderr.write(
          'tvdb: warning: DATABASE_URL connects as the owner of the tables; set TVDB_MIGRATION_DATABASE_URL to the owner ' +
            'and DATABASE_URL to the application role (README: Database roles)\n',
        );
    }
    return await body({ config, log, db, pool, onShutdown: (s) => steps.push(s), stopping, migrated });
  } finally {
    for (const step of steps.reverse()) {
      await step().catch((error) => log.error({ err: error }, 'shutdown step failed'));
    }
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    log.flush();
  }
}
