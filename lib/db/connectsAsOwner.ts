// Does this pool connect as the owner of the pipeline's tables (or a superuser)? Then least
// privilege is not in force: the command says so.
import { sql, type CommonQueryMethods } from 'slonik';
import { z } from 'zod';

export async function connectsAsOwner(db: CommonQueryMethods): Promise<boolean> {
  return db.oneFirst(sql.type(z.object({ owner: z.boolean() }))`
    select coalesce((select pg_has_role(current_user, tableowner, 'usage') from pg_tables
                     where schemaname = 'public' and tablename = 'jobs'), false)
        or (select rolsuper from pg_roles where rolname = current_user) as owner`);
}
