// The schema's code: one file per function (sql/functions/<name>.sql, with its triggers) and per view
// (sql/views/<name>.sql), each holding the current definition. `tvdb migrate` applies them after the
// numbered migrations, inside the migration lock and one transaction: every function in name order
// (bodies are checked when they run, as pg_dump restores them), then the views in the order
// sql/views/ORDER states. Each file is idempotent (create or replace), so applying them again
// changes nothing, and they are applied only when their digest differs from the one the database
// recorded; a rename or a drop is a migration (DECISIONS.md: "SQL functions and views").
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

export const FUNCTIONS_DIR = fileURLToPath(new URL('../../sql/functions', import.meta.url));
export const VIEWS_DIR = fileURLToPath(new URL('../../sql/views', import.meta.url));

export type Definition = { kind: 'function' | 'view'; name: string; file: string; sql: string };

export class DefinitionsError extends Error {}

const sqlFiles = (dir: string) =>
  readdirSync(dir)
    .filter((f) => f.endsWith('.sql'))
    .map((f) => f.slice(0, -4))
    .sort();

/** Every definition file in the order migrate applies them. */
export function definitions(): Definition[] {
  const functions = sqlFiles(FUNCTIONS_DIR);
  const views = sqlFiles(VIEWS_DIR);
  const order = readFileSync(path.join(VIEWS_DIR, 'ORDER'), 'utf8')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
  const unlisted = views.filter((v) => !order.includes(v));
  const missing = order.filter((v) => !views.includes(v));
  if (unlisted.length || missing.length || new Set(order).size !== order.length)
    throw new DefinitionsError(
      `sql/views/ORDER must list every view file once: ${
        [...unlisted.map((v) => `${v}.sql is not listed`), ...missing.map((v) => `${v} has no file`)].join(', ') ||
        'a view is listed twice'
      }`,
    );
  const read = (kind: Definition['kind'], dir: string, name: string): Definition => {
    const file = path.join(dir, `${name}.sql`);
    return { kind, name, file, sql: readFileSync(file, 'utf8') };
  };
  return [...functions.map((n) => read('function', FUNCTIONS_DIR, n)), ...order.map((n) => read('view', VIEWS_DIR, n))];
}

/** A digest of the definitions (names, order and text): what `applied_definitions` records. */
export function definitionsDigest(list: Definition[] = definitions()): string {
  const hash = createHash('sha256');
  for (const d of list) hash.update(`${d.kind}\0${d.name}\0${d.sql}\0`);
  return hash.digest('hex');
}

type Queryable = { query(text: string): Promise<unknown> };

/**
 * Applies every definition in one transaction on `client` (which holds the migration lock), unless
 * the database already has exactly these (the digest it recorded): re-creating a trigger or a view
 * locks its table, which a running pipeline would feel for nothing.
 */
export async function applyDefinitions(
  client: Queryable,
  list: Definition[] = definitions(),
): Promise<'applied' | 'unchanged'> {
  const digest = definitionsDigest(list);
  const recorded = (await client.query('select digest from applied_definitions where id = 1')) as {
    rows: Array<{ digest: string }>;
  };
  if (recorded.rows[0]?.digest === digest) return 'unchanged';
  await client.query('begin');
  try {
    await client.query('set local check_function_bodies = off');
    for (const d of list) {
      try {
        await client.query(d.sql);
      } catch (error) {
        const e = error as Error & { position?: string };
        throw new DefinitionsError(`sql/${d.kind}s/${d.name}.sql: ${e.message}`, { cause: error });
      }
    }
    await client.query(
      `insert into applied_definitions (id, digest, applied_at) values (1, '${digest}', now())
       on conflict (id) do update set digest = excluded.digest, applied_at = excluded.applied_at`,
    );
    await client.query('commit');
  } catch (error) {
    await client.query('rollback').catch(() => {});
    throw error;
  }
  return 'applied';
}
