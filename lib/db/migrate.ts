// Applies graphile-worker's own schema, then, holding node-pg-migrate's advisory lock on one
// connection: adopts a database of the squashed release (baseline.ts), runs our numbered migrations
// (node-pg-migrate, sql/migrations/*.sql: tables, types, indexes, rows, anything destructive), and
// applies the functions and views (definitions.ts: sql/functions, sql/views). All of it is
// idempotent: running migrate twice changes nothing.
import { fileURLToPath } from 'node:url';
import { readdirSync } from 'node:fs';
import pg from 'pg';
import { runMigrations, Logger as GraphileLogger } from 'graphile-worker';
import { sql, type CommonQueryMethods } from 'slonik';
import { z } from 'zod';
import type { Logger } from '../log.ts';
import { DEFAULT_APPLICATION_ROLE, ensureApplicationRole, type ApplicationRole } from './applicationRole.ts';
import { adoptBaseline } from './baseline.ts';
import { applyDefinitions, definitions, definitionsDigest } from './definitions.ts';

export const MIGRATIONS_DIR = fileURLToPath(new URL('../../sql/migrations', import.meta.url));
export const MIGRATIONS_TABLE = 'pgmigrations';

export type MigrateResult = { applied: string[] };

/**
 * Migrates as the owner (`databaseUrl`), then creates and grants the application role (by default
 * tvdb_app without a password: a role for trust or peer authentication, or to give one later).
 */
export async function migrate(
  databaseUrl: string,
  log: Logger,
  options: { appRole?: ApplicationRole } = {},
): Promise<MigrateResult> {
  const quiet = {
    debug: () => {},
    info: (m: string) => log.debug(m),
    warn: (m: string) => log.warn(m),
    error: (m: string) => log.error(m),
  };
  // graphile-worker's schema first: our views read its tables.
  await runMigrations({ connectionString: databaseUrl, logger: graphileLogger(log) });
  // Loaded when there is migrating to do (~17 MB): most processes only check pendingMigrations.
  const { runner, PG_MIGRATE_LOCK_ID } = await import('node-pg-migrate');
  const list = definitions(); // read (and checked) before anything is changed
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  let applied: Array<{ name: string }>;
  try {
    // Several processes may migrate at once: they queue on the lock, the first one works.
    await client.query('select pg_advisory_lock($1)', [PG_MIGRATE_LOCK_ID]);
    try {
      if ((await adoptBaseline(client, MIGRATIONS_TABLE)) === 'adopted')
        log.info('adopted the baseline: the database was migrated by release b303886');
      applied = await runner({
        dbClient: client,
        noLock: true, // held above, across the migrations and the definitions
        dir: MIGRATIONS_DIR,
        direction: 'up',
        migrationsTable: MIGRATIONS_TABLE,
        checkOrder: true,
        logger: quiet,
        ignorePattern: '(\\..*)|(.*\\.md)',
      });
      if ((await applyDefinitions(client, list)) === 'applied') log.info('functions and views applied');
    } finally {
      await client.query('select pg_advisory_unlock($1)', [PG_MIGRATE_LOCK_ID]).catch(() => {});
    }
  } finally {
    await client.end();
  }
  for (const m of applied) log.info({ migration: m.name }, 'migration applied');
  await ensureApplicationRole(databaseUrl, options.appRole ?? { name: DEFAULT_APPLICATION_ROLE });
  return { applied: applied.map((m) => m.name) };
}

/**
 * Migration names on disk that the database has not applied, and `sql/functions, sql/views` when
 * the definitions it last applied differ from the files (empty when current).
 */
export async function pendingMigrations(db: CommonQueryMethods): Promise<string[]> {
  const pending = await pendingMigrationFiles(db);
  if (pending.length) return pending;
  const digest = await db.maybeOneFirst(
    sql.type(z.object({ digest: z.string() }))`select digest from applied_definitions where id = 1`,
  );
  return digest === definitionsDigest() ? [] : ['sql/functions, sql/views (changed since the last tvdb migrate)'];
}

async function pendingMigrationFiles(db: CommonQueryMethods): Promise<string[]> {
  const onDisk = readdirSync(MIGRATIONS_DIR)
    .filter((f) => f.endsWith('.sql'))
    .map((f) => f.replace(/\.sql$/, ''));
  const exists = await db.oneFirst(
    sql.type(z.object({ t: z.boolean() }))`select to_regclass(${MIGRATIONS_TABLE}) is not null as t`,
  );
  if (!exists) return onDisk;
  const done = new Set(
    await db.anyFirst(sql.type(z.object({ name: z.string() }))`select name from ${sql.identifier([MIGRATIONS_TABLE])}`),
  );
  return onDisk.filter((name) => !done.has(name));
}

/** graphile-worker's logger, forwarding into pino. */
export function graphileLogger(log: Logger): GraphileLogger {
  return new GraphileLogger(() => (level, message, meta) => {
    const fields = meta ?? {};
    // Task failures are logged by our stage wrapper with the job's context; graphile's own line
    // (with the whole job row) would repeat it.
    if (level === 'error' && (fields as { failure?: boolean }).failure) log.debug(fields, message);
    else if (level === 'error') log.error(fields, message);
    else if (level === 'warning') log.warn(fields, message);
    else if (level === 'info')
      log.debug(fields, message); // its info lines are chatty: keep at debug
    else log.trace(fields, message);
  });
}
