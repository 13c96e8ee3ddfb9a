// Money recorded exactly once (issue 22). An estimate charged for a LlamaParse upload whose hold
// expired while LlamaParse was still parsing is replaced by the real bill (one charge, the true
// one: before, 550,000 for a 250,000 job). A LlamaParse job cancelled after the maximum wait is
// charged what LlamaParse says it billed, and nothing when it billed nothing (before, the re-run
// cleared it as "nothing billed" whatever it cost). A paid query embedding whose outcome is unknown
// is charged (before, it was never marked pending).
import test from 'ava';
import { sql } from 'slonik';
import { z } from 'zod';
import { ingest, llamaParseSetup, waitForTerminal } from './helpers/pipeline.ts';
import { minimalPdf } from '../lib/documents/minimalPdf.ts';
import type { JobHelpers } from 'graphile-worker';
import { beginPaidCall, expireReservations, reserveBudget } from '../lib/costs/budget.ts';
import { loadTasks } from '../tasks/index.ts';
import { tokenCostMicroUsd } from '../lib/costs/pricing.ts';
import { createTestDatabase } from './helpers/database.ts';
import { testServer } from './helpers/server.ts';
import { EmbeddingEmulator } from '../emulators/embeddings.ts';
import { loadConfig } from '../lib/config.ts';
import { createLogger } from '../lib/log.ts';
import { searchDeps } from '../lib/search/search.ts';

const TOKEN = 'money-test-token-0123456789';

// The fast tier: 1 credit a page, 1,250 micro-USD a credit (the price catalog).
const MICRO_USD_PER_CREDIT = 1250;

const pdf = (tag: string, pages: number) =>
  minimalPdf(Array.from({ length: pages }, (_, i) => [`${tag} page ${i + 1} about ${tag}`]));

const ledgerRows = z.object({ operation: z.string(), cost: z.number(), estimated: z.boolean() });

async function until(what: string, check: () => Promise<boolean>, timeoutMs = 90_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

test('a hold that expires while LlamaParse parses: the real bill replaces the estimate', async (t) => {
  const { db, llama, pipeline } = await llamaParseSetup(t, {
    env: { LLAMAPARSE_TIER: 'fast', TVDB_RESERVATION_TTL_S: '3' },
    // 4 pages at 2 s each: the job parses for ~8 s, well past the hold's 3 s (which must still be
    // live when the upload starts, on a loaded machine too).
    emulator: { startDelayMs: 5, perPageDelayMs: 2000 },
  });
  const [result] = await ingest(pipeline.deps, [{ name: 'slow.pdf', bytes: pdf('slow', 4) }]);
  if (!result?.ok) return t.fail('not accepted');
  await pipeline.start();
  await until('the upload', async () => llama.stats.uploads === 1);
  // The hold expires with its upload still pending: the estimate is charged (as budget__expire does).
  await until('the hold to expire and be charged', async () => {
    await expireReservations(db.pool);
    return db.pool.exists(sql.unsafe`select 1 from cost_ledger where operation = 'unrecorded_call'`);
  });
  const jobs = await waitForTerminal(db.pool, [result.jobId], 120_000);
  t.is(jobs[result.jobId]!.state, 'complete', jobs[result.jobId]!.last_error ?? '');
  const rows = await db.pool.any(sql.type(ledgerRows)`
    select operation, cost_micro_usd::int as cost, estimated from cost_ledger where service = 'llamaparse' order by id`);
  t.log(rows);
  const billed = llama.stats.billedCredits * MICRO_USD_PER_CREDIT;
  t.is(billed, 4 * MICRO_USD_PER_CREDIT);
  t.is(
    rows.reduce((sum, r) => sum + r.cost, 0),
    billed,
    'the ledger holds one charge, the true one',
  );
  t.deepEqual(
    rows.map((r) => r.operation),
    ['unrecorded_call', 'parse', 'estimate_replaced'],
    'the estimate, the real bill, and the estimate reversed',
  );
  const spent = await db.pool.oneFirst(sql.type(z.object({ s: z.number() }))`
    select coalesce(sum(cost_micro_usd), 0)::int as s from cost_by_job where job_id = ${result.jobId}::uuid`);
  t.is(spent, billed, 'cost_by_job agrees');
  const notes = await db.pool.anyFirst(sql.type(z.object({ e: z.string() }))`
    select detail ->> 'event' as e from job_events where job_id = ${result.jobId}::uuid and kind = 'note' order by id`);
  t.true(notes.includes('unrecorded_call_charged') && notes.includes('estimate_replaced'), notes.join(', '));
});

for (const billsWhenCancelled of [true, false]) {
  test(`a LlamaParse job cancelled after the maximum wait that ${billsWhenCancelled ? 'billed is charged' : 'billed nothing is not charged'}`, async (t) => {
    const { db, llama, pipeline } = await llamaParseSetup(t, {
      env: { LLAMAPARSE_TIER: 'fast', LLAMAPARSE_MAX_WAIT_S: '1', LLAMAPARSE_TIMEOUT_MS: '3000' },
      emulator: {
        startDelayMs: 5,
        perPageDelayMs: 1,
        faults: { stuckPending: { count: 1 }, ...(billsWhenCancelled ? { billCancelled: { count: 1 } } : {}) },
      },
    });
    const [result] = await ingest(pipeline.deps, [{ name: 'stuck.pdf', bytes: pdf('stuck', 3) }]);
    if (!result?.ok) return t.fail('not accepted');
    await pipeline.start();
    const jobs = await waitForTerminal(db.pool, [result.jobId], 120_000);
    t.is(jobs[result.jobId]!.state, 'complete', jobs[result.jobId]!.last_error ?? '');
    t.is(llama.stats.uploads, 2, 'uploaded twice: the first job was stuck and cancelled');
    const cancelled = [...llama.jobs.values()].filter((j) => j.status === 'CANCELLED');
    t.is(cancelled.length, 1);
    const rows = await db.pool.any(sql.type(ledgerRows)`
      select operation, cost_micro_usd::int as cost, estimated from cost_ledger where service = 'llamaparse' order by id`);
    t.log(rows);
    const billed = llama.stats.billedCredits * MICRO_USD_PER_CREDIT;
    t.is(billed, (billsWhenCancelled ? 6 : 3) * MICRO_USD_PER_CREDIT);
    t.is(
      rows.reduce((sum, r) => sum + r.cost, 0),
      billed,
      'the ledger holds exactly what LlamaParse billed',
    );
    t.false(
      rows.some((r) => r.estimated),
      'nothing estimated: LlamaParse was asked',
    );
    t.deepEqual(
      rows.map((r) => r.operation),
      billsWhenCancelled ? ['parse_cancelled', 'parse'] : ['parse'],
    );
    const held = await db.pool.oneFirst(sql.type(z.object({ n: z.number() }))`
      select count(*)::int as n from budget_reservations where status = 'held' or pending_call_micro_usd > 0`);
    t.is(held, 0, 'no hold and no pending call left');
  });
}

test('a paid query embedding follows the pending-call protocol: a timed-out one is charged, a refused one is not', async (t) => {
  const db = await createTestDatabase();
  const emulator = new EmbeddingEmulator();
  await emulator.start();
  const config = loadConfig({
    DATABASE_URL: db.url,
    EMBEDDINGS_PROVIDER: 'openai',
    EMBEDDINGS_API_KEY: 'sk-emulator',
    EMBEDDINGS_BASE_URL: emulator.url,
    EMBEDDINGS_DIMENSIONS: '128',
    EMBEDDINGS_TIMEOUT_MS: '2000',
    BREAKER_FAILURE_THRESHOLD: '10',
  });
  const server = await testServer(db.pool, {
    apiToken: TOKEN,
    search: searchDeps(config, db.pool, createLogger('silent')),
  });
  t.teardown(async () => {
    server.server.close();
    await emulator.stop();
    await db.drop();
  });
  const post = async (query: string) => {
    const response = await fetch(`${server.url}/v1/search`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ query }),
    });
    return response.status;
  };
  const ledger = () =>
    db.pool.any(sql.type(ledgerRows)`
      select operation, cost_micro_usd::int as cost, estimated from cost_ledger where service = 'embeddings' order by id`);
  const loose = () =>
    db.pool.oneFirst(sql.type(z.object({ n: z.number() }))`
      select count(*)::int as n from budget_reservations where status = 'held' or pending_call_micro_usd > 0`);

  // Answered after the client gave up: the provider billed it; the ledger holds its estimate.
  emulator.faults = { slowResponses: { count: 1, delayMs: 5000 } };
  t.is(await post('spring tides at the quay'), 503);
  await until('the provider to answer (and bill) the abandoned call', async () => emulator.billed.length === 1);
  const timedOut = await ledger();
  t.deepEqual(
    timedOut.map((r) => [r.operation, r.estimated]),
    [['unrecorded_call', true]],
    'the call whose outcome was unknown is charged, as estimated',
  );
  const billedMicroUsd = tokenCostMicroUsd(emulator.billed[0]!.tokens, 20_000);
  t.true(timedOut[0]!.cost >= billedMicroUsd, `estimate ${timedOut[0]!.cost} >= billed ${billedMicroUsd}`);
  t.is(await loose(), 0, 'the hold closed, nothing pending');

  // Refused with an answer (HTTP 500): nothing billed, nothing charged.
  emulator.faults = { serverErrors: { count: 1, status: 500 } };
  t.is(await post('container manifests'), 503);
  t.is((await ledger()).length, 1, 'a refused call is not charged');
  t.is(await loose(), 0);

  // Answered: the real bill, exactly once.
  t.is(await post('garden basil'), 200);
  const rows = await ledger();
  t.deepEqual(
    rows.map((r) => [r.operation, r.estimated]),
    [
      ['unrecorded_call', true],
      ['embed_query', false],
    ],
  );
  t.is(rows[1]!.cost, tokenCostMicroUsd(emulator.billed[1]!.tokens, 20_000));
  t.is(await loose(), 0);
});

test('a re-run that finds its lost upload cancelled asks LlamaParse what it billed and charges it before uploading again', async (t) => {
  const { db, llama, pipeline } = await llamaParseSetup(t, {
    env: { LLAMAPARSE_TIER: 'fast', LLAMAPARSE_TIMEOUT_MS: '3000' },
    emulator: {
      startDelayMs: 5,
      perPageDelayMs: 1,
      faults: { stuckPending: { count: 1 }, billCancelled: { count: 1 } },
    },
  });
  const bytes = pdf('lost', 2);
  const [result] = await ingest(pipeline.deps, [{ name: 'lost.pdf', bytes }], 'corr-lost');
  if (!result?.ok) return t.fail('not accepted');
  const { parser } = pipeline.deps;
  if (parser.parser !== 'llamaparse') return t.fail('LlamaParse is not configured');
  // A run reserved, marked its upload pending, uploaded, and died before recording the answer;
  // the LlamaParse job was then cancelled (and, this time, billed its 2 pages).
  const reservation = await reserveBudget(db.pool, {
    jobId: result.jobId,
    stage: 'parse',
    service: 'llamaparse',
    amountMicroUsd: 2 * MICRO_USD_PER_CREDIT,
    ttlS: 3600,
  });
  if (!reservation.ok) return t.fail('no reservation');
  await beginPaidCall(db.pool, reservation.reservationId, 2 * MICRO_USD_PER_CREDIT, null);
  const lost = await parser.client.upload({
    bytes,
    fileName: 'lost.pdf',
    jobId: result.jobId,
    correlationId: 'corr-lost',
    maxPages: 2,
  });
  await parser.client.cancel(lost.id);
  t.is(llama.stats.billedCredits, 2);

  const { taskList: tasks } = await loadTasks(pipeline.deps);
  const helpers = { job: { attempts: 1, max_attempts: 3, task_identifier: 'job__parse' } } as unknown as JobHelpers;
  await tasks.job__parse!({ jobId: result.jobId, correlationId: 'corr-lost' }, helpers);
  t.is(llama.stats.uploads, 2, 'no live upload was found: a new one was made');
  const rows = await db.pool.any(sql.type(ledgerRows.extend({ external_id: z.string().nullable() }))`
    select operation, cost_micro_usd::int as cost, estimated, external_id from cost_ledger order by id`);
  t.deepEqual(rows, [
    { operation: 'parse_cancelled', cost: 2 * MICRO_USD_PER_CREDIT, estimated: false, external_id: lost.id },
  ]);
  const notes = await db.pool.anyFirst(sql.type(z.object({ e: z.string() }))`
    select detail ->> 'event' as e from job_events where job_id = ${result.jobId}::uuid and kind = 'note' order by id`);
  t.true(notes.includes('llamaparse_cancelled_job_billed'), notes.join(', '));
});
