// A normalised `pg_dump --schema-only` of our schema (graphile-worker's schema excluded: it is
// theirs), followed by the rows of the rule tables (the state machine, the stage table, prices, event
// types, alert thresholds), sorted. sql/schema.sql is such a dump, committed; a test fails when
// migrations and dump disagree. pg_dump refuses a server newer than itself, so `schemaFingerprint`
// describes a database from the catalogs of the server it runs on: two databases on one server
// (one loaded from sql/schema.sql, one migrated) can be compared on any version.
import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';
import pg from 'pg';

const run = promisify(execFile);

export function normaliseDump(dump: string): string {
  return (
    dump
      .split('\n')
      .filter(
        (line) =>
          !line.startsWith('--') &&
          !line.startsWith('SET ') &&
          !line.startsWith('SELECT pg_catalog.set_config') &&
          !/^\\(un)?restrict /.test(line), // pg_dump >= 15.14 adds a random per-dump key
      )
      .join('\n')
      .replace(/\n{3,}/g, '\n\n')
      .trim() + '\n'
  );
}

/** The major version of the pg_dump on PATH, or null when there is none. */
export function pgDumpMajor(): number | null {
  try {
    const out = execFileSync('pg_dump', ['--version'], { encoding: 'utf8' });
    return Number(/(\d+)\.\d+/.exec(out)?.[1] ?? NaN) || null;
  } catch {
    return null;
  }
}

/** Tables whose rows are rules the code relies on (written by migrations, read-only to the application). */
export const RULE_TABLES = [
  'job_state_transitions',
  'budget_stages', // before pipeline_stages, which references it (the dump's rows load in this order)
  'pipeline_stages',
  'pipeline_stage_tasks',
  'webhook_event_types',
  'price_catalog',
  'budget_alert_thresholds',
];

export async function dumpSchema(databaseUrl: string): Promise<string> {
  const options = { maxBuffer: 64 * 1024 * 1024 };
  const [schema, rows] = await Promise.all([
    run(
      'pg_dump',
      ['--schema-only', '--no-owner', '--no-privileges', '--exclude-schema=graphile_worker', databaseUrl],
      options,
    ),
    run(
      'pg_dump',
      ['--data-only', '--inserts', ...RULE_TABLES.map((t) => `--table=public.${t}`), databaseUrl],
      options,
    ),
  ]);
  return normaliseDump(stdout(schema) + '\n' + sortedRows(stdout(rows)));
}

const stdout = (r: { stdout: string }) => r.stdout;

/** The INSERT lines of a data dump, grouped by table in RULE_TABLES' order and sorted within it. */
function sortedRows(dump: string): string {
  const byTable = new Map<string, string[]>();
  for (const line of dump.split('\n')) {
    const table = /^INSERT INTO public\.(\w+) /.exec(line)?.[1];
    if (table) byTable.set(table, [...(byTable.get(table) ?? []), line]);
  }
  return RULE_TABLES.map((t) => (byTable.get(t) ?? []).sort().join('\n')).join('\n\n') + '\n';
}

/**
 * Our schema as the server's catalogs describe it (one line per object, sorted), with the rows of
 * the rule tables: equal for two databases on one server when their schemas are the same.
 */
export async function schemaFingerprint(databaseUrl: string): Promise<string> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const { rows } = await client.query<{ line: string }>(FINGERPRINT);
    const lines = rows.map((r) => r.line);
    for (const table of RULE_TABLES) {
      const data = await client.query<{ row: string }>(
        `select row_to_json(t)::text as row from public.${client.escapeIdentifier(table)} t`,
      );
      lines.push(...data.rows.map((r) => `row ${table} ${r.row}`).sort());
    }
    return lines.join('\n') + '\n';
  } finally {
    await client.end();
  }
}

const FINGERPRINT = `
with ns as (select 'public'::regnamespace as oid)
select line from (
  select format('type %s enum %s', t.typname,
                (select string_agg(e.enumlabel, ',' order by e.enumsortorder) from pg_enum e where e.enumtypid = t.oid)) as line
  from pg_type t where t.typnamespace = (select oid from ns) and t.typtype = 'e'
  union all
  select format('relation %s kind %s persistence %s', c.relname, c.relkind, c.relpersistence)
  from pg_class c where c.relnamespace = (select oid from ns) and c.relkind in ('r', 'v', 'm', 'S', 'p')
  union all
  select format('column %s.%s %s notnull %s identity %s generated %s default %s', c.relname, a.attname,
                format_type(a.atttypid, a.atttypmod), a.attnotnull, a.attidentity, a.attgenerated,
                pg_get_expr(d.adbin, d.adrelid))
  from pg_attribute a join pg_class c on c.oid = a.attrelid
  left join pg_attrdef d on d.adrelid = a.attrelid and d.adnum = a.attnum
  where c.relnamespace = (select oid from ns) and c.relkind in ('r', 'v', 'p') and a.attnum > 0 and not a.attisdropped
  union all
  select format('column-order %s %s', c.relname,
                (select string_agg(a.attname, ',' order by a.attnum) from pg_attribute a
                 where a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped))
  from pg_class c where c.relnamespace = (select oid from ns) and c.relkind in ('r', 'v', 'p')
  union all
  select format('constraint %s.%s %s', c.relname, k.conname, pg_get_constraintdef(k.oid))
  from pg_constraint k join pg_class c on c.oid = k.conrelid where c.relnamespace = (select oid from ns)
  union all
  select format('index %s', pg_get_indexdef(i.indexrelid))
  from pg_index i join pg_class c on c.oid = i.indrelid where c.relnamespace = (select oid from ns)
  union all
  select format('sequence %s %s %s %s %s %s', c.relname, format_type(q.seqtypid, null), q.seqstart, q.seqincrement,
                q.seqmax, q.seqcycle)
  from pg_sequence q join pg_class c on c.oid = q.seqrelid where c.relnamespace = (select oid from ns)
  union all
  select format('function %s', pg_get_functiondef(p.oid))
  from pg_proc p where p.pronamespace = (select oid from ns)
  union all
  select format('view %s %s', c.relname, pg_get_viewdef(c.oid))
  from pg_class c where c.relnamespace = (select oid from ns) and c.relkind in ('v', 'm')
  union all
  select format('trigger %s', pg_get_triggerdef(g.oid))
  from pg_trigger g join pg_class c on c.oid = g.tgrelid where c.relnamespace = (select oid from ns) and not g.tgisinternal
  union all
  select format('comment %s %s', d.classoid::regclass, d.description)
  from pg_description d where d.objoid in (select oid from pg_class where relnamespace = (select oid from ns)
                                           union all select oid from pg_proc where pronamespace = (select oid from ns))
) x order by line`;
