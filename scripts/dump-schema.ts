// npm run schema:dump: migrate a scratch database and write its normalised dump to sql/schema.sql.
// Uses TEST_DATABASE_URL's server (default: the local PostgreSQL at 127.0.0.1:5432), whose major
// version must not be newer than pg_dump's.
import { writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { migrate } from '../lib/db/migrate.ts';
import { dumpSchema } from '../lib/db/schemaDump.ts';
import { createLogger } from '../lib/log.ts';
import { adminQuery, databaseUrl } from '../lib/db/admin.ts';

const admin = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const name = `tvdb_dump_${randomBytes(4).toString('hex')}`;
await adminQuery(`create database ${name}`, admin);
try {
  await migrate(databaseUrl(admin, name), createLogger('warn'));
  writeFileSync(new URL('../sql/schema.sql', import.meta.url), await dumpSchema(databaseUrl(admin, name)));
  console.log('wrote sql/schema.sql');
} finally {
  await adminQuery(`drop database ${name} with (force)`, admin);
}
