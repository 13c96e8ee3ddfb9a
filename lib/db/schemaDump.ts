// A normalised `pg_dump --schema-only` of our schema (graphile-worker's schema excluded: it is
// theirs). sql/schema.sql is such a dump, committed; a test fails when migrations and dump disagree.
import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';

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

export async function dumpSchema(databaseUrl: string): Promise<string> {
  const { stdout } = await run(
    'pg_dump',
    ['--schema-only', '--no-owner', '--no-privileges', '--exclude-schema=graphile_worker', databaseUrl],
    { maxBuffer: 64 * 1024 * 1024 },
  );
  return normaliseDump(stdout);
}
