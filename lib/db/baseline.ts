// The migrations up to release b303886 were squashed into sql/migrations/000001_baseline.sql (their
// tables, types, indexes and rows; their functions and views are in sql/functions and sql/views).
// A database that release migrated lists those 26 migrations in pgmigrations and already has all
// the baseline holds: its rows are replaced by the baseline's row (keeping the earliest run_on, so
// node-pg-migrate's order check sees the baseline first), and the baseline never runs there.
// A database stopped part way through them cannot be adopted: it is refused, saying what to do.
export const BASELINE = '000001_baseline';
export const BASELINE_RELEASE = 'b303886';

/** What the baseline replaces, in order: the migrations of release b303886. */
export const SQUASHED_MIGRATIONS = [
  '000001_job_state_machine',
  '000002_intake_and_parse',
  '000003_chunks_and_embeddings',
  '000004_webhooks',
  '000005_costs',
  '000006_alerts',
  '000007_worker_liveness',
  '000008_breakers_and_rate_limits',
  '000009_monitoring_views',
  '000010_record_webhook_delivery',
  '000011_observability',
  '000012_pipeline_stages',
  '000013_stage_leases',
  '000020_document_upload_parts',
  '000021_bounded_webhook_history',
  '000022_application_role',
  '000040_webhook_subscriptions',
  '000041_webhook_outbox',
  '000042_webhook_delivery',
  '000045_chunk_text_search',
  '000046_request_budget_reservations',
  '000050_budget_upper_bounds',
  '000051_parse_page_cap',
  '000052_reserve_with_lease',
  '000060_group_committed_webhook_deliveries',
  '000061_stage_run_round_trips',
];

export class BaselineError extends Error {}

type Client = { query<R extends object>(text: string, values?: unknown[]): Promise<{ rows: R[] }> };

/** Rewrites pgmigrations of a database migrated by release b303886 (a no-op anywhere else). */
export async function adoptBaseline(client: Client, migrationsTable: string): Promise<'adopted' | 'none'> {
  const exists = await client.query<{ t: boolean }>('select to_regclass($1) is not null as t', [migrationsTable]);
  if (!exists.rows[0]?.t) return 'none';
  const table = `"${migrationsTable.replaceAll('"', '""')}"`;
  const { rows } = await client.query<{ name: string }>(`select name from ${table} order by run_on, id`);
  const names = rows.map((r) => r.name);
  const squashed = names.filter((n) => SQUASHED_MIGRATIONS.includes(n));
  if (!squashed.length) return 'none';
  if (squashed.length !== SQUASHED_MIGRATIONS.length || names.includes(BASELINE))
    throw new BaselineError(
      `this database was migrated by a release older than ${BASELINE_RELEASE} (its last migration is ` +
        `${squashed.at(-1)}): migrate it with release ${BASELINE_RELEASE} first (git checkout ${BASELINE_RELEASE} ` +
        '&& npx tvdb migrate), then with this one',
    );
  await client.query('begin');
  try {
    await client.query(
      `insert into ${table} (name, run_on) select $1, min(run_on) from ${table} where name = any($2::text[])`,
      [BASELINE, SQUASHED_MIGRATIONS],
    );
    await client.query(`delete from ${table} where name = any($1::text[])`, [SQUASHED_MIGRATIONS]);
    await client.query('commit');
  } catch (error) {
    await client.query('rollback').catch(() => {});
    throw error;
  }
  return 'adopted';
}
