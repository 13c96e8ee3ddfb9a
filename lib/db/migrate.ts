// Applies our SQL migrations (node-pg-migrate, sql/migrations/*.sql) and graphile-worker's own
// schema. Both are idempotent: running migrate twice changes nothing.
import { fileURLToPath } from 'node:url';
import { readdirSync } from 'node:fs';
import { runner } from 'node-pg-migrate';
import { runMigrations, Logger as GraphileLogger } from 'graphile-worker';
import pg from 'pg';
import type { Logger } from '../log.ts';

export const MIGRATIONS_DIR = fileURLToPath(new URL('../../sql/migrations', import.meta.url));
export const MIGRATIONS_TABLE = 'pgmigrations';

export type MigrateResult = { applied: string[] };

export async function migrate(databaseUrl: string, log: Logger): Promise<MigrateResult> {
  const quiet = {
    debug: () => {},
    info: (m: string) => log.debug(m),
    warn: (m: string) => log.warn(m),
    error: (m: string) => log.error(m),
  };
  const applied = await runner({
    databaseUrl,
    dir: MIGRATIONS_DIR,
    direction: 'up',
    migrationsTable: MIGRATIONS_TABLE,
    checkOrder: true,
    advisoryLockMode: 'wait', // several processes may migrate at once: they queue, the first one works
    logger: quiet,
    ignorePattern: '(\\..*)|(.*\\.md)',
  });
  await runMigrations({ connectionString: databaseUrl, logger: graphileLogger(log) });
  for (const m of applied) log.info({ migration: m.name }, 'migration applied');
  return { applied: applied.map((m) => m.name) };
}

/** Migration names on disk that the database has not applied (empty when current). */
export async function pendingMigrations(client: pg.ClientBase): Promise<string[]> {
  const onDisk = readdirSync(MIGRATIONS_DIR)
    .filter((f) => f.endsWith('.sql'))
    .map((f) => f.replace(/\.sql$/, ''));
  const exists = await client.query(`select to_regclass($1) as t`, [MIGRATIONS_TABLE]);
  if (!exists.rows[0].t) return onDisk;
  const { rows } = await client.query<{ name: string }>(`select name from ${MIGRATIONS_TABLE}`);
  const done = new Set(rows.map((r) => r.name));
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
