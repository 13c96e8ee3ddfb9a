// TVDB_TEXT_SEARCH_LANGUAGE must name a text search configuration of the database: checked when a
// command starts (the chunk stage would otherwise fail on every chunk, search on every query).
import { sql, type CommonQueryMethods } from 'slonik';
import { z } from 'zod';
import { ConfigError } from '../config.ts';

export async function checkTextSearchLanguage(db: CommonQueryMethods, language: string) {
  const known = await db.anyFirst(sql.type(z.object({ name: z.string() }))`
    select cfgname::text as name from pg_ts_config order by cfgname`);
  if (!known.includes(language))
    throw new ConfigError(
      `TVDB_TEXT_SEARCH_LANGUAGE: "${language}" is not a text search configuration of this database (known: ${known.join(', ')})`,
    );
}
