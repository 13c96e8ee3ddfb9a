// POST /v1/search and `tvdb search` over a real server and a real CLI process, with a paid
// embeddings provider (the OpenAI-contract emulator): the query's embedding is reserved, billed in
// the ledger and settled like the embed stage's calls, refused when no budget is left, not made
// while the provider's breaker is open; and the request is checked before anything is spent.
import test from 'ava';
import { sql } from 'slonik';
import { z } from 'zod';
import { EmbeddingEmulator } from '../emulators/embeddings.ts';
import { createTestDatabase, type TestDatabase } from './helpers/database.ts';
import { testPipeline, ingest, waitForTerminal, type TestPipeline } from './helpers/pipeline.ts';
import { testServer } from './helpers/server.ts';
import { cleanEnv, runTvdb } from './helpers/cli.ts';
import { loadConfig } from '../lib/config.ts';
import { createLogger } from '../lib/log.ts';
import { searchDeps } from '../lib/search/search.ts';
import { setBudget } from '../lib/costs/reports.ts';
import { SearchResponseBody } from '../server/searchRoute.ts';
import { countTokens } from '../lib/chunk/tokenizer.ts';

const TOKEN = 'search-test-token-0123456789';
const env = (emulator: EmbeddingEmulator) => ({
  EMBEDDINGS_PROVIDER: 'openai',
  EMBEDDINGS_API_KEY: 'sk-emulator',
  EMBEDDINGS_BASE_URL: emulator.url,
  EMBEDDINGS_DIMENSIONS: '128',
  BREAKER_FAILURE_THRESHOLD: '2',
  BREAKER_COOLDOWN_S: '600',
});

let db: TestDatabase;
let emulator: EmbeddingEmulator;
let pipeline: TestPipeline;
let url: string;
let close: () => Promise<void>;

test.before(async () => {
  db = await createTestDatabase();
  emulator = new EmbeddingEmulator();
  await emulator.start();
  pipeline = testPipeline(db, { ...env(emulator), CHUNK_TARGET_TOKENS: '40', CHUNK_OVERLAP_TOKENS: '0' });
  await pipeline.start();
  const results = await ingest(pipeline.deps, [
    {
      name: 'reports/harbour.md',
      bytes: Buffer.from(
        '# Harbour log\n\n## Tides\n\nSpring tides flood the quay twice a month; the harbour master posts the tide table.\n\n' +
          '## Cargo\n\nCranes unload container ships at berth four; manifests list every container.',
      ),
    },
    {
      name: 'reports/garden.txt',
      bytes: Buffer.from('Garden notes: tomatoes ripen in August; basil grows beside them.'),
    },
  ]);
  await waitForTerminal(
    db.pool,
    results.map((r) => (r.ok ? r.jobId : '')),
  );
  const config = loadConfig({ DATABASE_URL: db.url, ...env(emulator) });
  const server = await testServer(db.pool, {
    apiToken: TOKEN,
    search: searchDeps(config, db.pool, createLogger('silent')),
  });
  url = server.url;
  close = () => server.server.close();
});
test.after.always(async () => {
  await close?.();
  await pipeline?.stop();
  await emulator?.stop();
  await db?.drop();
});

const post = async (body: unknown, headers: Record<string, string> = {}) => {
  const response = await fetch(`${url}/v1/search`, {
    method: 'POST',
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: response.status, headers: response.headers, body: (await response.json()) as Record<string, any> };
};

const Ledger = z.object({
  operation: z.string(),
  units: z.number(),
  cost_micro_usd: z.number(),
  job_id: z.string().nullable(),
  correlation_id: z.string().nullable(),
  reservation: z.string().nullable(),
  request_id: z.string().nullable(),
});
const queryLedger = () =>
  db.pool.any(sql.type(Ledger)`
    select l.operation, l.units::int, l.cost_micro_usd::int, l.job_id::text, l.correlation_id, r.status as reservation, r.request_id::text
    from cost_ledger l left join budget_reservations r on r.id = l.reservation_id
    where l.operation = 'embed_query' order by l.id`);
const heldQueryReservations = () =>
  db.pool.oneFirst(sql.type(z.object({ n: z.number() }))`
    select count(*)::int as n from budget_reservations where request_id is not null and status = 'held'`);

test.serial('the request is checked before anything is spent: token, media type, JSON, fields, size', async (t) => {
  const calls = emulator.stats.requests;
  const noToken = await fetch(`${url}/v1/search`, {
    method: 'POST',
    body: '{"query":"tides"}',
    headers: { 'content-type': 'application/json' },
  });
  t.is(noToken.status, 401);
  t.is((await post('{"query":"tides"}', { 'content-type': 'text/plain' })).status, 415);
  const notJson = await post('{"query":');
  t.deepEqual([notJson.status, notJson.body.error], [400, 'bad_request']);
  const badK = await post({ query: 'tides', k: 0 });
  t.is(badK.status, 400);
  t.regex(badK.body.message, /^k: /);
  const typo = await post({ query: 'tides', minscore: 0.5 });
  t.is(typo.status, 400);
  t.regex(typo.body.message, /minscore/, 'an unknown field is named, not ignored');
  t.is((await post({ query: '   ' })).status, 400);
  t.is((await post({ query: 'tides', mode: 'fuzzy' })).status, 400);
  t.is((await post({ query: 'tides', job_ids: ['not-a-uuid'] })).status, 400);
  t.is((await post({ query: 'x'.repeat(70_000) })).status, 413);
  // Within the 10,000 characters, but 27,000 tokens: more than the model takes in one input.
  const overModel = await post({ query: '\ua66e'.repeat(9000) });
  t.deepEqual([overModel.status, overModel.body.error], [400, 'bad_request']);
  t.regex(overModel.body.message, /^query: 27000 tokens; the embedding model .* takes at most 8192/);
  t.is(emulator.stats.requests, calls, 'no embedding was asked for');
  t.deepEqual(await queryLedger(), []);
});

test.serial(
  'a search answers with document, pages, heading path and score, and its query embedding is billed',
  async (t) => {
    const calls = emulator.stats.requests;
    const query = 'when do spring tides flood the quay';
    const { status, body } = await post({ query, k: 3 }, { 'x-correlation-id': 'corr-search-1' });
    t.is(status, 200, JSON.stringify(body));
    const response = SearchResponseBody.parse(body);
    t.is(response.mode, 'hybrid');
    t.is(response.model, 'text-embedding-3-small');
    const top = response.results[0]!;
    t.is(top.file_name, 'reports/harbour.md');
    t.deepEqual(top.heading_path, ['Harbour log', 'Tides']);
    t.deepEqual([top.page_start, top.page_end], [1, 1]);
    t.true(top.vector_score! > 0 && top.text_score! > 0);
    t.is(emulator.stats.requests, calls + 1, 'one embedding call for the query');
    t.is(emulator.received.at(-1)?.run, `search:${response.request_id}`, 'the call names its search (X-TVDB-Run)');
    const tokens = countTokens(query);
    t.deepEqual(await queryLedger(), [
      {
        operation: 'embed_query',
        units: tokens,
        cost_micro_usd: response.cost_micro_usd,
        job_id: null,
        correlation_id: 'corr-search-1',
        reservation: 'settled',
        request_id: response.request_id,
      },
    ]);
    t.is(response.cost_micro_usd, Math.ceil((tokens * 20_000) / 1_000_000), 'the catalog price of the tokens');
    t.is(await heldQueryReservations(), 0);
  },
);

test.serial('text mode embeds nothing and costs nothing; filters apply', async (t) => {
  const calls = emulator.stats.requests;
  const { body } = await post({ query: 'tomatoes basil', mode: 'text', file_name: '*.txt' });
  t.is(body.cost_micro_usd, 0);
  t.is(body.vector_search, null);
  t.deepEqual(
    body.results.map((r: { file_name: string }) => r.file_name),
    ['reports/garden.txt'],
  );
  const none = await post({ query: 'tomatoes basil', mode: 'text', file_name: '*.md' });
  t.deepEqual(none.body.results, []);
  t.is(emulator.stats.requests, calls);
});

test.serial('tvdb search --json prints the same response, and its query is billed too', async (t) => {
  const result = await runTvdb(
    ['search', 'cranes unload container ships', '-k', '2', '--json'],
    cleanEnv({ DATABASE_URL: db.url, ...env(emulator) }),
  );
  t.is(result.code, 0, result.stderr);
  const response = SearchResponseBody.parse(JSON.parse(result.stdout));
  t.deepEqual(response.results[0]!.heading_path, ['Harbour log', 'Cargo']);
  t.is(response.cost_micro_usd, (await queryLedger()).at(-1)!.cost_micro_usd);
  t.is((await queryLedger()).length, 2);
});

test.serial('without budget left the query is refused (402) and the provider is not called', async (t) => {
  await setBudget(db.pool, 'embeddings', 'total', 0, false);
  const calls = emulator.stats.requests;
  const { status, body } = await post({ query: 'spring tides' });
  t.is(status, 402);
  t.is(body.error, 'budget_exhausted');
  t.regex(body.message, /embeddings total budget/);
  t.is(emulator.stats.requests, calls);
  t.is((await queryLedger()).length, 2);
  const text = await post({ query: 'spring tides', mode: 'text' });
  t.is(text.status, 200, 'text search needs no budget');
  await db.pool.query(sql.unsafe`delete from budgets`);
});

test.serial(
  'a failing provider: 503, nothing billed, the hold released; once the breaker opens, no call at all',
  async (t) => {
    emulator.faults = { serverErrors: { count: 2, status: 500 } };
    for (let i = 0; i < 2; i++) {
      const { status, body } = await post({ query: 'container manifests' });
      t.is(status, 503);
      t.is(body.error, 'embeddings_unavailable');
    }
    t.is(await heldQueryReservations(), 0, 'failed calls hold no budget');
    t.is((await queryLedger()).length, 2, 'and are not billed');
    const calls = emulator.stats.requests;
    const { status, headers, body } = await post({ query: 'container manifests' });
    t.is(status, 503);
    t.regex(body.message, /breaker_open/);
    t.true(Number(headers.get('retry-after')) > 0);
    t.is(emulator.stats.requests, calls, 'the open breaker made no call');
    await db.pool.query(
      sql.unsafe`update circuit_breakers set state = 'closed', consecutive_failures = 0 where service = 'embeddings'`,
    );
  },
);
