// Shared by the benchmarks: a migrated scratch database (embedded PostgreSQL unless
// BENCH_DATABASE_URL names a server), dropped at the end; and latency statistics. `url` connects
// as the application role, as the pipeline does; `ownerUrl` as the owner (fixtures of history).
import { mkdtempSync, rmSync, chmodSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { createLogger } from '../lib/log.ts';
import { startEmbeddedPostgres } from '../lib/db/embedded.ts';
import { migrate } from '../lib/db/migrate.ts';
import { adminQuery, databaseUrl } from '../lib/db/admin.ts';
import { EMBEDDED_APPLICATION_ROLE } from '../lib/db/database.ts';
import { urlAsRole } from '../lib/db/applicationRole.ts';
import { freePort } from '../lib/http/freePort.ts';

export async function scratchDatabase() {
  const log = createLogger('warn');
  let admin = process.env.BENCH_DATABASE_URL ?? process.env.TEST_DATABASE_URL;
  let stop = async () => {};
  let dir: string | undefined;
  let postgresPid: number | undefined;
  if (!admin) {
    dir = mkdtempSync(path.join(tmpdir(), 'tvdb-bench-'));
    chmodSync(dir, 0o755);
    const server = await startEmbeddedPostgres({ dataDir: dir, port: await freePort(), log, durable: false });
    admin = server.urlFor('postgres');
    stop = server.stop;
    postgresPid = Number(readFileSync(path.join(dir, 'pg', 'postmaster.pid'), 'utf8').split('\n')[0]);
  }
  const name = `tvdb_bench_${randomBytes(4).toString('hex')}`;
  await adminQuery(`create database ${name}`, admin);
  const ownerUrl = databaseUrl(admin, name);
  await migrate(ownerUrl, log, { appRole: EMBEDDED_APPLICATION_ROLE });
  return {
    url: urlAsRole(ownerUrl, EMBEDDED_APPLICATION_ROLE),
    ownerUrl,
    /** The embedded server's postmaster (for its CPU time), when the harness started one. */
    postgresPid,
    async drop() {
      await adminQuery(`drop database ${name} with (force)`, admin).catch(() => {});
      await stop();
      if (dir) rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * BENCH_SMOKE=1 (scripts/bench-smoke.ts, run by CI): a tiny size that shows the benchmark still runs
 * end to end in seconds; its numbers mean nothing, so targets are reported but not judged.
 */
export const SMOKE = process.env.BENCH_SMOKE === '1';

/** Exit 1 when a target is missed (not at the smoke size), or when something was wrong (always). */
export function exitWith(verdict: { targetsMet: boolean; wrong?: boolean }): never {
  if (SMOKE && !verdict.targetsMet) console.log('(smoke size: targets not judged)');
  process.exit(verdict.wrong || (!verdict.targetsMet && !SMOKE) ? 1 : 0);
}

export function percentile(sorted: number[], p: number): number {
  if (!sorted.length) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}
