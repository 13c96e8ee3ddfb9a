import type { Command } from '../command.ts';
import { parseCommandArgs } from '../command.ts';
import { withRuntime } from '../runtime.ts';
import { redactUrl } from '../../lib/log.ts';
import { vectorsAdvice, vectorsStatus } from '../../lib/vectors/vectorsStatus.ts';

const command: Command = {
  usage: `Usage: tvdb migrate [--json]

Applies graphile-worker's schema, sql/migrations/*.sql, then the functions and views of
sql/functions/ and sql/views/ (current definitions, re-applied each time) as the owner, creates the
application role (if missing) and grants it what the pipeline needs and nothing more:
  TVDB_MIGRATION_DATABASE_URL  the owner's connection; DATABASE_URL then names the application
                               role (its user and password: the role is created with them)
  DATABASE_URL alone           the owner's connection (the role is tvdb_app, without a password)
  neither                      the embedded PostgreSQL in TVDB_DATA_DIR (default .tvdb/)
Running it again changes nothing. Where pgvector is installed on the server but not yet used, it
says so: "tvdb vectors reindex" makes the move (it is not a migration: see README).`,
  async run(argv) {
    const { values } = parseCommandArgs(argv, { options: { json: { type: 'boolean' } } });
    return withRuntime({ migrate: 'owner', poolSize: 1 }, async ({ db, migrated, pool }) => {
      const ownerUrl = db.migrationUrl ?? db.url;
      const { applied } = migrated!;
      const hint = vectorsAdvice(await vectorsStatus(pool));
      if (values.json) {
        process.stdout.write(
          JSON.stringify({
            database: redactUrl(ownerUrl),
            embedded: db.embedded,
            applied,
            application_role: db.appRole.name,
            vectors_hint: hint,
          }) + '\n',
        );
      } else {
        process.stdout.write(
          `${applied.length ? `applied ${applied.length} migration(s): ${applied.join(', ')}` : 'database is up to date'}` +
            ` (${db.embedded ? 'embedded PostgreSQL, ' : ''}${redactUrl(ownerUrl)}); application role ${db.appRole.name} granted\n`,
        );
        if (hint) process.stdout.write(`hint: ${hint}\n`);
      }
      return 0;
    });
  },
};
export default command;
