// What every command needs: configuration, a logger, a migrated database, and an orderly exit.
// Shutdown runs registered steps in reverse order (workers drain before the pool closes, the pool
// closes before an embedded server is released); a second Ctrl-C exits at once.
import type { DatabasePool } from 'slonik';
import { loadConfig, type Config } from '../lib/config.ts';
import { createLogger, type Logger } from '../lib/log.ts';
import { locateDatabase, createDatabasePool, type DatabaseLocation } from '../lib/db/database.ts';
import { migrate } from '../lib/db/migrate.ts';

export type Runtime = {
  config: Config;
  log: Logger;
  db: DatabaseLocation;
  pool: DatabasePool;
  /** Register a step to run at shutdown (last registered runs first). */
  onShutdown(step: () => Promise<void>): void;
  /** Resolves when SIGINT/SIGTERM arrives. */
  stopping: Promise<string>;
};

export async function withRuntime<T>(
  options: {
    migrate?: boolean;
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
    if (options.migrate !== false) await migrate(db.url, log);
    const pool = await createDatabasePool(db.url, options.poolSize ?? config.TVDB_DB_POOL_SIZE, {
      idleInTransactionTimeoutS: config.TVDB_WORKER_STALE_S,
    });
    steps.push(() => pool.end());
    return await body({ config, log, db, pool, onShutdown: (s) => steps.push(s), stopping });
  } finally {
    for (const step of steps.reverse()) {
      await step().catch((error) => log.error({ err: error }, 'shutdown step failed'));
    }
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    log.flush();
  }
}
