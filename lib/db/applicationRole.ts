// The application role: what the server, the workers and every command connect as. `tvdb migrate`
// (as the owner) creates it when missing, makes sure it can log in (with the password its URL
// gives), refuses one with powers or possessions (superuser, createrole, ... or owning anything in
// this database), and grants it its privileges (sql/functions/grant_application_role.sql).
// Roles are cluster-wide: several databases and processes may do this at once, so creation
// tolerates a concurrent creator and role updates are retried when they collide.
import pg from 'pg';

export type ApplicationRole = { name: string; password?: string | undefined };

export const DEFAULT_APPLICATION_ROLE = 'tvdb_app';

/** The role named by a connection URL (its user and password). */
export function roleOfUrl(url: string): ApplicationRole {
  const parsed = new URL(url);
  return {
    name: decodeURIComponent(parsed.username),
    password: parsed.password ? decodeURIComponent(parsed.password) : undefined,
  };
}

/** A URL like `url` that logs in as `role` instead. */
export function urlAsRole(url: string, role: ApplicationRole): string {
  const parsed = new URL(url);
  parsed.username = encodeURIComponent(role.name);
  parsed.password = role.password ? encodeURIComponent(role.password) : '';
  return parsed.toString();
}

export class ApplicationRoleError extends Error {}

export async function ensureApplicationRole(ownerUrl: string, role: ApplicationRole): Promise<void> {
  const client = new pg.Client({ connectionString: ownerUrl });
  await client.connect();
  try {
    const owner = (await client.query<{ u: string }>('select current_user as u')).rows[0]!.u;
    if (owner === role.name)
      throw new ApplicationRoleError(
        `the application role and the owner are both "${role.name}": give DATABASE_URL a role of its own (README: Database roles)`,
      );
    const ident = client.escapeIdentifier(role.name);
    await retryOnCollision(async () => {
      await client.query(`do $do$ begin
          if not exists (select from pg_roles where rolname = ${client.escapeLiteral(role.name)}) then
            begin
              create role ${ident} login;
            exception when duplicate_object or unique_violation then null; -- created concurrently
            end;
          end if;
        end $do$`);
      const { rows } = await client.query<{ login: boolean }>(
        'select rolcanlogin as login from pg_roles where rolname = $1',
        [role.name],
      );
      if (role.password !== undefined)
        await client.query(`alter role ${ident} with login password ${client.escapeLiteral(role.password)}`);
      else if (!rows[0]?.login) await client.query(`alter role ${ident} with login`);
    });
    await assertPowerless(client, role.name);
    await client.query('select grant_application_role($1)', [role.name]);
  } finally {
    await client.end();
  }
}

async function assertPowerless(client: pg.Client, name: string) {
  const { rows } = await client.query<{ powers: string[]; owns: number }>(
    `select array_remove(array[
              case when rolsuper then 'superuser' end, case when rolcreaterole then 'createrole' end,
              case when rolcreatedb then 'createdb' end, case when rolreplication then 'replication' end,
              case when rolbypassrls then 'bypassrls' end], null) as powers,
            (select count(*)::int from pg_class where relowner = r.oid)
              + (select count(*)::int from pg_proc where proowner = r.oid)
              + (select count(*)::int from pg_namespace where nspowner = r.oid)
              + (select count(*)::int from pg_type where typowner = r.oid) as owns
     from pg_roles r where rolname = $1`,
    [name],
  );
  const { powers, owns } = rows[0]!;
  if (powers.length)
    throw new ApplicationRoleError(
      `the application role "${name}" has ${powers.join(', ')}; it must be an ordinary role (ALTER ROLE ... NO${powers[0]!.toUpperCase()})`,
    );
  if (owns > 0)
    throw new ApplicationRoleError(
      `the application role "${name}" owns ${owns} object(s) in this database; it must own nothing (REASSIGN OWNED BY ${name} TO <owner>)`,
    );
}

// Two sessions altering one role at once: "tuple concurrently updated" (XX000), or a deadlock.
async function retryOnCollision(work: () => Promise<void>) {
  for (let attempt = 1; ; attempt++) {
    try {
      return await work();
    } catch (error) {
      const code = (error as { code?: string }).code;
      const collided = code === 'XX000' || code === '40001' || code === '40P01' || code === '23505';
      if (!collided || attempt >= 20) throw error;
      await new Promise((r) => setTimeout(r, 20 + Math.random() * 80 * attempt));
    }
  }
}
