import type { Command } from '../command.ts';
import { parseCommandArgs } from '../command.ts';
import { withRuntime } from '../runtime.ts';
import { migrate } from '../../lib/db/migrate.ts';
import { redactUrl } from '../../lib/log.ts';

const command: Command = {
  usage: `Usage: tvdb migrate [--json]

Applies sql/migrations/*.sql and graphile-worker's schema to the database named by DATABASE_URL,
or to the embedded PostgreSQL in TVDB_DATA_DIR (default .tvdb/) when DATABASE_URL is unset.
Running it again changes nothing.`,
  async run(argv) {
    const { values } = parseCommandArgs(argv, { options: { json: { type: 'boolean' } } });
    return withRuntime({ migrate: false, poolSize: 1 }, async ({ db, log }) => {
      const { applied } = await migrate(db.url, log);
      if (values.json) {
        process.stdout.write(JSON.stringify({ database: redactUrl(db.url), embedded: db.embedded, applied }) + '\n');
      } else {
        process.stdout.write(
          `${applied.length ? `applied ${applied.length} migration(s): ${applied.join(', ')}` : 'database is up to date'}` +
            ` (${db.embedded ? 'embedded PostgreSQL, ' : ''}${redactUrl(db.url)})\n`,
        );
      }
      return 0;
    });
  },
};
export default command;
