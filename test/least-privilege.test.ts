// Least privilege that holds (issue 22): every relation and function the application role can
// reach, read from the catalogs (not a hand list), is tried as a way to write history. No view is
// writable; no existing row of a history table (the append-only tables and the rules) changes or
// disappears through any write or any function; no sequence can be reset; the audit fields of an
// event (who, role, error) cannot be chosen by the application; notes are only the pipeline's.
import test from 'ava';
import pg from 'pg';
import { createTestDatabase, TEST_APPLICATION_ROLE, type TestDatabase } from './helpers/database.ts';
import { insertJob } from './helpers/jobs.ts';
import { recordEmbeddingCost } from './helpers/costs.ts';
import { advanceJob } from '../lib/jobs/advanceJob.ts';
import { addJobNote } from '../lib/jobs/jobNotes.ts';

let db: TestDatabase;
let app: pg.Client;
test.before(async () => {
  db = await createTestDatabase();
  app = new pg.Client({ connectionString: db.url });
  await app.connect();
});
test.after.always(async () => {
  await app?.end();
  await db?.drop();
});

const SCHEMAS = ['public', 'graphile_worker'];
// The rules: read-only to the application, though not append-only.
const RULES = [
  'public.job_state_transitions',
  'public.pipeline_stages',
  'public.pipeline_stage_tasks',
  'public.price_catalog',
  'public.pgmigrations',
  'graphile_worker.migrations',
];

type Outcome = { ok: true; moved: string[] } | { ok: false; code: string; message: string };

/** Runs `statement` as the application role inside a savepoint that is always rolled back; when
 * it succeeds, which history tables then differ from `before` (rows that existed changed or gone). */
async function attempt(statement: string, params: unknown[] = [], before?: Fingerprint): Promise<Outcome> {
  await app.query('savepoint probe');
  try {
    await app.query(statement, params);
    const moved: string[] = [];
    if (before) {
      const after = await fingerprint(before);
      for (const [table, f] of Object.entries(after.rows)) if (f !== before.rows[table]) moved.push(table);
    }
    return { ok: true, moved };
  } catch (error) {
    const e = error as { code?: string; message: string };
    return { ok: false, code: e.code ?? '?', message: e.message };
  } finally {
    await app.query('rollback to savepoint probe');
  }
}

/** The history tables: those the append-only trigger guards, found in the catalog, plus the rules. */
async function historyTables(): Promise<string[]> {
  const { rows } = await app.query<{ t: string }>(`
    select distinct format('%I.%I', n.nspname, c.relname) as t
    from pg_trigger g join pg_class c on c.oid = g.tgrelid join pg_namespace n on n.oid = c.relnamespace
    where g.tgfoid = 'public.tg_append_only'::regproc`);
  return [...rows.map((r) => r.t), ...RULES].sort();
}

type Fingerprint = { maxIds: Record<string, string | null>; rows: Record<string, string> };

/** A fingerprint of the rows each history table holds (for a table with an id: the rows up to the
 * id that was its largest when `since` was taken, so rows appended later do not count). */
async function fingerprint(since: Fingerprint | string[]): Promise<Fingerprint> {
  const tables = Array.isArray(since) ? since : Object.keys(since.rows);
  const out: Fingerprint = { maxIds: {}, rows: {} };
  for (const t of tables) {
    const hasId = (
      await app.query(
        `select 1 from pg_attribute where attrelid = $1::regclass and attname = 'id' and not attisdropped`,
        [t],
      )
    ).rowCount;
    const maxId = Array.isArray(since)
      ? hasId
        ? ((await app.query<{ m: string | null }>(`select max(id)::text as m from ${t}`)).rows[0]!.m ?? '0')
        : null
      : since.maxIds[t]!;
    out.maxIds[t] = maxId;
    const where = maxId === null ? '' : `where x.id <= ${maxId}`;
    const { rows } = await app.query<{ f: string }>(
      `select count(*) || ':' || coalesce(sum(hashtext(x::text)::bigint), 0) as f from ${t} x ${where}`,
    );
    out.rows[t] = rows[0]!.f;
  }
  return out;
}

test.serial(
  'every relation the application role reaches: no view, history row or sequence can be written',
  async (t) => {
    // Something in every history table worth forging.
    const job = await insertJob(db.pool);
    await advanceJob(db.pool, job.id, 'uploaded', 'parse_queued');
    await addJobNote(db.pool, job.id, { event: 'stage_busy', stage: 'parse' });
    await recordEmbeddingCost(db.pool, job.id, 10, 1);
    const history = await historyTables();
    t.true(history.includes('public.job_events') && history.includes('public.cost_ledger'), history.join(', '));

    const { rows: relations } = await app.query<{ name: string; kind: string; col: string | null }>(
      `
    select format('%I.%I', n.nspname, c.relname) as name, c.relkind::text as kind,
           (select quote_ident(a.attname) from pg_attribute a
            where a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped
            order by has_column_privilege(current_user, c.oid, a.attnum, 'UPDATE') desc, a.attnum limit 1) as col
    from pg_class c join pg_namespace n on n.oid = c.relnamespace
    where n.nspname = any($1) and c.relkind in ('r', 'p', 'v', 'm', 'f', 'S')
      and (case when c.relkind = 'S' then has_sequence_privilege(current_user, c.oid, 'usage,select,update')
                else has_table_privilege(current_user, c.oid, 'select,insert,update,delete,truncate') end)
    order by 1`,
      [SCHEMAS],
    );
    const kinds = new Set(relations.map((r) => r.kind));
    t.true(kinds.has('r') && kinds.has('v') && kinds.has('S'), `found tables, views and sequences: ${[...kinds]}`);

    await app.query('begin');
    try {
      const before = await fingerprint(history);
      const viewWrites: string[] = [];
      const historyWrites: string[] = [];
      let tried = 0;
      for (const r of relations) {
        if (r.kind === 'S') {
          const reset = await attempt(`select setval('${r.name}', 1, false)`);
          if (reset.ok) historyWrites.push(`setval ${r.name}`);
          continue;
        }
        const writes = [
          `insert into ${r.name} default values`,
          `update ${r.name} set ${r.col} = ${r.col}`,
          `delete from ${r.name}`,
          `truncate ${r.name} cascade`,
        ];
        for (const w of writes) {
          const outcome = await attempt(w, [], before);
          tried++;
          if ((r.kind === 'v' || r.kind === 'm') && outcome.ok) viewWrites.push(w);
          if (outcome.ok && outcome.moved.length) historyWrites.push(`${w}: ${outcome.moved.join(', ')}`);
        }
      }
      t.deepEqual(viewWrites, [], 'no write to a view succeeds');
      t.deepEqual(historyWrites, [], 'no write anywhere changes or removes a history row; no sequence reset');
      t.log(
        `${relations.length} relations probed with ${tried} writes (${relations.filter((r) => r.kind === 'v').length} views, ` +
          `${relations.filter((r) => r.kind === 'S').length} sequences); history tables: ${history.join(', ')}`,
      );
    } finally {
      await app.query('rollback');
    }
  },
);

test.serial('the forgeries of the review are refused', async (t) => {
  const job = await insertJob(db.pool);
  await advanceJob(db.pool, job.id, 'uploaded', 'parse_queued');
  await app.query('begin');
  try {
    const refused = [
      `insert into job_timeline (job_id, event_id, kind, state, at) values ('${job.id}', 1, 'transition', 'complete', now() - interval '1 day')`,
      `update stage_outcome_states set failed_state = 'complete'`,
      `delete from stage_outcome_states`,
      `update jobs set state = 'parsed' where id = '${job.id}'`,
      `update jobs set state_changed_at = now() - interval '1 day' where id = '${job.id}'`,
      `insert into cost_ledger (at, service, operation, units, unit, cost_micro_usd) values (now() - interval '40 days', 'embeddings', 'embed', 1, 'tokens', 1)`,
      `insert into cost_ledger (service, operation, units, unit, cost_micro_usd, reverses_ledger_id) values ('embeddings', 'estimate_replaced', -1, 'tokens', -1, 1)`,
    ];
    for (const statement of refused) {
      const outcome = await attempt(statement);
      t.false(outcome.ok, statement);
      if (!outcome.ok)
        t.true(['42501', '55000', '0A000', '42703'].includes(outcome.code), `${statement}: ${outcome.message}`);
    }
  } finally {
    await app.query('rollback');
  }
});

test.serial('the application cannot choose the audit fields of an event', async (t) => {
  const job = await insertJob(db.pool);
  // A value set in tvdb.event_detail before a move or a creation is never recorded.
  await app.query('begin');
  await app.query(`select set_config('tvdb.event_detail', '{"who": "forged-admin", "error": "forged"}', true)`);
  await app.query(`select advance_job($1, 'uploaded', 'parse_queued', '{}')`, [job.id]);
  const { rows: fresh } = await app.query<{ id: string }>(
    `insert into jobs (document_id, file_name, correlation_id)
     select document_id, 'x.txt', 'forged-created' from jobs where id = $1 returning id`,
    [job.id],
  );
  await app.query('commit');
  const { rows: events } = await app.query<{ who: string; role: string; error: string | null }>(
    `select detail ->> 'who' as who, detail ->> 'role' as role, detail ->> 'error' as error from job_events
     where job_id = any($1) and kind in ('transition', 'created') order by id`,
    [[job.id, fresh[0]!.id]],
  );
  for (const e of events) {
    t.not(e.who, 'forged-admin');
    t.is(e.error, null);
    t.is(e.role, TEST_APPLICATION_ROLE.name, 'the login role is recorded');
  }
  // Through advance_job: who is a component, role is the database's, error only into a failure.
  const bad = [
    { who: 'forged-admin' },
    { role: 'postgres' },
    { error: 'forged error on a normal move' },
    { attempt: -1 },
    { 'odd key': 1 },
  ];
  await app.query('begin');
  for (const detail of bad) {
    const outcome = await attempt(`select advance_job($1, 'parse_queued', 'parsed', $2)`, [job.id, detail]);
    t.false(outcome.ok, JSON.stringify(detail));
    if (!outcome.ok) t.is(outcome.code, '22023', outcome.message);
  }
  await app.query('rollback');
});

test.serial('add_job_note takes only the notes the pipeline writes', async (t) => {
  const job = await insertJob(db.pool);
  const refused: Record<string, unknown>[] = [
    { event: 'anything' },
    { kind: 'attempt_failed' },
    { event: 'attempt_failed', stage: 'parse', error_class: 'transient' }, // no error
    { event: 'attempt_failed', stage: 'nowhere', error_class: 'transient', error: 'x' },
    { event: 'attempt_failed', stage: 'parse', error_class: 'made_up', error: 'x' },
    { event: 'attempt_failed', stage: 'parse', error_class: 'transient', error: 'x', extra: 1 },
    { event: 'attempt_failed', stage: 'parse', error_class: 'transient', error: 'x', attempt: 'one' },
    { event: 'attempt_failed', stage: 'parse', error_class: 'transient', error: 'x'.repeat(5000) },
    { event: 'stage_busy', stage: 'parse', role: 'postgres' },
  ];
  for (const note of refused) {
    const error = await t.throwsAsync(addJobNote(db.pool, job.id, note), undefined, JSON.stringify(note).slice(0, 80));
    t.regex(String(error?.message), /add_job_note/);
  }
  // The pipeline's own notes pass, and carry the login role.
  await addJobNote(db.pool, job.id, {
    event: 'attempt_failed',
    stage: 'parse',
    attempt: 1,
    max_attempts: 3,
    error_class: 'transient',
    error: 'HTTP 503',
    next_run_at: new Date().toISOString(),
  });
  await addJobNote(db.pool, job.id, { event: 'rate_limited', service: 'llamaparse', bucket: 'llamaparse:uploads' });
  const { rows } = await app.query<{ n: number; role: string }>(
    `select count(*)::int as n, max(detail ->> 'role') as role from job_events where job_id = $1 and kind = 'note'`,
    [job.id],
  );
  t.deepEqual(rows[0], { n: 2, role: TEST_APPLICATION_ROLE.name });
});

test.serial(
  'every function the application role can run: none writes history with any arguments it is given',
  async (t) => {
    // Security definer functions run as the owner: each must be one reviewed here, with its probe.
    const { rows: definers } = await app.query<{ f: string }>(
      `select p.oid::regprocedure::text as f from pg_proc p join pg_namespace n on n.oid = p.pronamespace
     where n.nspname = any($1) and p.prosecdef and has_function_privilege(current_user, p.oid, 'execute')
     order by 1`,
      [SCHEMAS],
    );
    t.deepEqual(
      definers.map((d) => d.f),
      [
        'add_job_note(uuid,jsonb)', // validated: the test above
        'advance_job(uuid,job_state,job_state,jsonb)', // validated: the audit test above
        'tg_cost_ledger__replace_estimate()', // trigger: not callable
        'tg_jobs__record_event()', // trigger: not callable
      ],
      'the security definer functions the application can reach are the reviewed ones',
    );
    // Every other function runs with the application's own rights; each is called with null
    // arguments (and every definer too), rolled back, and history must not move.
    const { rows: functions } = await app.query<{ f: string; nargs: number; trigger: boolean; kind: string }>(
      `select p.oid::regprocedure::text as f, p.pronargs as nargs, p.prorettype = 'trigger'::regtype as trigger,
            p.prokind::text as kind
     from pg_proc p join pg_namespace n on n.oid = p.pronamespace
     where n.nspname = any($1) and has_function_privilege(current_user, p.oid, 'execute') order by 1`,
      [SCHEMAS],
    );
    const history = await historyTables();
    await app.query('begin');
    await app.query(`set local statement_timeout = '5s'`);
    await app.query(`set local lock_timeout = '2s'`);
    try {
      const before = await fingerprint(history);
      let called = 0;
      const moved: string[] = [];
      for (const fn of functions) {
        if (fn.trigger || fn.kind !== 'f' || /sleep|advisory/.test(fn.f)) continue;
        const name = fn.f.slice(0, fn.f.indexOf('('));
        const args = Array.from({ length: fn.nargs }, () => 'null').join(', ');
        const outcome = await attempt(`select ${name.includes('.') ? name : `public.${name}`}(${args})`, [], before);
        if (outcome.ok && outcome.moved.length) moved.push(`${fn.f}: ${outcome.moved.join(', ')}`);
        called++;
      }
      t.deepEqual(moved, [], 'no function changed a history row');
      t.true(called > 20, `${called} functions called`);
    } finally {
      await app.query('rollback');
    }
  },
);
