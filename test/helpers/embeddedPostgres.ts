// A PostgreSQL of the test's own, for tests of database outages: an embedded server in a temporary
// directory with a migrated 'tvdb' database, which the test may stop and start again on the same
// port. Stopped and removed when the test ends.
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { ExecutionContext } from 'ava';
import { startEmbeddedPostgres } from '../../lib/db/embedded.ts';
import { migrate } from '../../lib/db/migrate.ts';
import { freePort } from '../../lib/http/freePort.ts';
import { createLogger } from '../../lib/log.ts';
import { adminQuery, TEST_APPLICATION_ROLE } from './database.ts';
import { urlAsRole } from '../../lib/db/applicationRole.ts';

export type OwnPostgres = {
  /** The temporary directory the cluster lives in (under it: pg/), free for the test's files too. */
  dataDir: string;
  /** The migrated 'tvdb' database, as the application role. */
  url: string;
  /** The same database as its owner. */
  ownerUrl: string;
  stop(): Promise<void>;
  /** Starts the stopped server again, on the same port and data. */
  restart(): Promise<void>;
};

export async function ownPostgres(t: ExecutionContext, prefix: string): Promise<OwnPostgres> {
  const dataDir = mkdtempSync(path.join(tmpdir(), prefix));
  chmodSync(dataDir, 0o755);
  const port = await freePort();
  const log = createLogger('silent');
  const start = () => startEmbeddedPostgres({ dataDir, port, log, durable: false });
  let server = await start();
  t.teardown(async () => {
    await server.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });
  await adminQuery('create database tvdb', server.urlFor('postgres'));
  await migrate(server.urlFor('tvdb'), log, { appRole: TEST_APPLICATION_ROLE });
  return {
    dataDir,
    url: urlAsRole(server.urlFor('tvdb'), TEST_APPLICATION_ROLE),
    ownerUrl: server.urlFor('tvdb'),
    stop: () => server.stop(),
    restart: async () => {
      server = await start();
    },
  };
}
