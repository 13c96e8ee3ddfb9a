import test from 'ava';
import { sql } from 'slonik';
import { z } from 'zod';
import { createTestDatabase } from './helpers/database.ts';
import { testPipeline, ingest, waitForTerminal, waitForState, llamaParseSetup } from './helpers/pipeline.ts';
import { minimalPdf, wrap } from '../lib/documents/minimalPdf.ts';
import { LlamaParseEmulator } from '../emulators/llamaparse/index.ts';
import { EmbeddingEmulator } from '../emulators/embeddings.ts';
import { pointAt } from '../emulators/pointAt.ts';
import { setBudget } from '../lib/costs/reports.ts';
import { cleanEnv, runTvdb } from './helpers/cli.ts';

const pdf = (i: number) =>
  minimalPdf([
    wrap(`Document ${i} first page about budgets and ledgers number ${i}.`),
    wrap(`Document ${i} second page, more words about costs ${i}.`),
  ]);

test('a budget covering part of the work completes that part; the rest waits for budget; a raised limit completes everything; the ledger matches what the providers billed', async (t) => {
  const db = await createTestDatabase({ poolSize: 8 });
  const llama = new LlamaParseEmulator({ startDelayMs: 5, perPageDelayMs: 2 });
  const embeddings = new EmbeddingEmulator();
  await Promise.all([llama.start(), embeddings.start()]);
  const pipeline = testPipeline(db, { ...pointAt({ llamaparse: llama, embeddings }, 32), TVDB_BUDGET_RECHECK_S: '1' });
  t.teardown(async () => {
    await pipeline.stop();
    await Promise.all([llama.stop(), embeddings.stop()]);
    await db.drop();
  });
  // fast tier: 1 credit per page at 1,250 micro-USD: a 2-page document costs 2,500. Room for 3.
  await setBudget(db.pool, 'llamaparse', 'total', 3 * 2500, false);
  const results = await ingest(
    pipeline.deps,
    Array.from({ length: 6 }, (_, i) => ({ name: `doc-${i}.pdf`, bytes: pdf(i) })),
  );
  const ids = results.map((r) => (r.ok ? r.jobId : ''));
  await pipeline.start();
  const waitUntil = async (check: () => Promise<boolean>, ms = 30_000) => {
    for (const end = Date.now() + ms; Date.now() < end;) {
      if (await check()) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error('condition not met in time');
  };
  const count = (state: string) =>
    db.pool.oneFirst(sql.type(z.object({ n: z.number() }))`
    select count(*)::int as n from jobs where id = any(${sql.array(ids, 'uuid')}) and state = ${state}::job_state`);
  await waitUntil(async () => (await count('complete')) === 3);
  await new Promise((r) => setTimeout(r, 1500)); // a recheck interval: nothing more may start
  t.is(await count('complete'), 3);
  t.is(await count('parse_queued'), 3, 'the rest waits in its queued state');
  const waiting = await db.pool.anyFirst(sql.type(z.object({ r: z.string() }))`
    select distinct detail ->> 'reason' as r from job_events where detail ->> 'event' = 'waiting_for_budget'`);
  t.true(waiting.length > 0);
  t.regex(waiting[0]!, /llamaparse total budget/);
  const attempts = await db.pool.oneFirst(sql.type(z.object({ n: z.number() }))`
    select count(*)::int as n from job_events where detail ->> 'event' = 'attempt_failed'`);
  t.is(attempts, 0, 'waiting uses no attempts');
  t.is(llama.stats.uploads, 3, 'no paid call beyond the budget');

  await setBudget(db.pool, 'llamaparse', 'total', 100_000, false);
  const states = await waitForTerminal(db.pool, ids, 30_000);
  t.true(Object.values(states).every((s) => s.state === 'complete'));

  const ledger = await db.pool.one(sql.type(
    z.object({ credits: z.number(), tokens: z.number(), parse_cost: z.number(), estimated: z.boolean() }),
  )`
    select coalesce(sum(units) filter (where service = 'llamaparse'), 0)::int as credits,
           coalesce(sum(units) filter (where service = 'embeddings'), 0)::int as tokens,
           coalesce(sum(cost_micro_usd) filter (where service = 'llamaparse'), 0)::int as parse_cost,
           coalesce(bool_or(estimated), false) as estimated
    from cost_ledger`);
  t.is(ledger.credits, llama.stats.billedCredits);
  t.is(ledger.tokens, embeddings.stats.promptTokens);
  t.is(ledger.parse_cost, 6 * 2500);
  t.false(ledger.estimated);
  const spent = await db.pool.oneFirst(
    sql.type(z.object({ s: z.bigint() }))`select spent_micro_usd as s from budget_status where scope = 'llamaparse'`,
  );
  t.is(spent, 15_000n);

  const costs = await runTvdb(['costs', '--json'], cleanEnv({ DATABASE_URL: db.url }));
  const report = JSON.parse(costs.stdout) as {
    rows: Array<{ key: string; cost_micro_usd: number }>;
    budgets: Array<{ spent_micro_usd: number }>;
  };
  t.is(report.rows.find((r) => r.key === 'llamaparse')!.cost_micro_usd, 15_000);
  t.is(report.budgets[0]!.spent_micro_usd, 15_000);
  const status = await runTvdb(['status', ids[0]!], cleanEnv({ DATABASE_URL: db.url }));
  t.regex(status.stdout, /cost \$0\.00\d\d/);
});

test('tvdb budget set/list and ingest --estimate', async (t) => {
  const db = await createTestDatabase();
  t.teardown(() => db.drop());
  const env = cleanEnv({
    DATABASE_URL: db.url,
    LLAMA_CLOUD_API_KEY: 'llx-anything',
    LLAMAPARSE_TIER: 'cost_effective',
  });
  const set = await runTvdb(['budget', 'set', 'llamaparse', '--period', 'month', '--limit-usd', '2.50'], env);
  t.is(set.code, 0, set.stderr);
  t.regex(set.stdout, /llamaparse\/month budget set to \$2\.5000/);
  const list = JSON.parse((await runTvdb(['budget', 'list', '--json'], env)).stdout) as Array<{
    limit_micro_usd: number;
  }>;
  t.is(list[0]!.limit_micro_usd, 2_500_000);
  const bad = await runTvdb(['budget', 'set', 'llamaparse', '--period', 'week', '--limit-usd', '1'], env);
  t.is(bad.code, 2);
  const { mkdtempSync, writeFileSync } = await import('node:fs');
  const dir = mkdtempSync('/tmp/tvdb-estimate-');
  writeFileSync(`${dir}/three-pages.pdf`, minimalPdf([['one'], ['two'], ['three']]));
  const estimate = await runTvdb(['ingest', '--estimate', '--json', dir], env);
  t.is(estimate.code, 0, estimate.stderr);
  const report = JSON.parse(estimate.stdout) as {
    files: Array<{ pages: number; parseMicroUsd: number }>;
    total_micro_usd: number;
  };
  t.is(report.files[0]!.pages, 3);
  t.is(report.files[0]!.parseMicroUsd, 3 * 3 * 1250, '3 pages x 3 credits x $0.00125');
  const jobs = await db.pool.oneFirst(sql.type(z.object({ n: z.number() }))`select count(*)::int as n from jobs`);
  t.is(jobs, 0, 'an estimate ingests nothing');
});

test('above the slow-down share work is spaced out, not stopped; then it proceeds', async (t) => {
  const db = await createTestDatabase();
  const pipeline = testPipeline(db, { TVDB_BUDGET_RECHECK_S: '10', TVDB_BUDGET_SLOWDOWN_SHARE: '0.8' });
  t.teardown(() => db.drop());
  const { guardSpend } = await import('../lib/costs/guardSpend.ts');
  const { insertJob } = await import('./helpers/jobs.ts');
  const { recordEmbeddingCost } = await import('./helpers/costs.ts');
  await setBudget(db.pool, 'embeddings', 'total', 10_000, false);
  const job = await insertJob(db.pool);
  await recordEmbeddingCost(db.pool, job.id, 9000, 9000);
  const { spendSettings } = await import('../lib/costs/guardSpend.ts');
  const { deferTask } = await import('../lib/pipeline/defer.ts');
  const { DeferError } = await import('../lib/errors.ts');
  const settings = spendSettings(pipeline.deps.config);
  const request = {
    jobId: job.id,
    stage: 'embed' as const,
    service: 'embeddings' as const,
    amountMicroUsd: 500,
    slowed: false,
  };
  // What the stage wrapper does with the deferral: re-queue the task later, no attempt used.
  const deferral = await guardSpend(db.pool, settings, request).catch((error: unknown) => error);
  if (!(deferral instanceof DeferError)) return t.fail('the spend was not deferred');
  const task = { jobId: job.id, task: 'job__embed' as const, maxAttempts: 8 };
  await deferTask(db.pool, { ...task, payload: { jobId: job.id, correlationId: job.correlationId } }, deferral);
  const queued = await db.pool.one(sql.type(
    z.object({ payload: z.record(z.string(), z.unknown()), delay_s: z.number() }),
  )`
    select payload, extract(epoch from run_at - now())::float8 as delay_s from graphile_worker._private_jobs where key = ${'embed:' + job.id}`);
  t.is(queued.payload.slowed, true);
  t.true(
    queued.delay_s > 3 && queued.delay_s <= 5.1,
    `90% of a budget with slow-down from 80%: half the recheck interval (${queued.delay_s})`,
  );
  const note = await db.pool.oneFirst(sql.type(z.object({ e: z.string() }))`
    select detail ->> 'event' as e from job_events where job_id = ${job.id}::uuid order by id desc limit 1`);
  t.is(note, 'budget_slowdown');
  const next = await guardSpend(db.pool, settings, { ...request, slowed: queued.payload.slowed === true });
  t.true(Number.isInteger(next), 'the slowed task proceeds when it runs again');
});

test("LlamaParse's 402 pauses parsing without using attempts, raises an alert, and resumes", async (t) => {
  const { db, llama, pipeline } = await llamaParseSetup(t, {
    env: { TVDB_BUDGET_RECHECK_S: '1' },
    emulator: { startDelayMs: 5, perPageDelayMs: 1, faults: { outOfCredits: true } },
  });
  const [result] = await ingest(pipeline.deps, [{ name: 'credits.pdf', bytes: pdf(99) }]);
  if (!result?.ok) return t.fail();
  await pipeline.start();
  const alertMessage = async () =>
    db.pool.maybeOneFirst(
      sql.type(
        z.object({ m: z.string() }),
      )`select message as m from alerts where kind = 'provider_out_of_credits' limit 1`,
    );
  for (let i = 0; i < 100 && !(await alertMessage()); i++) await new Promise((r) => setTimeout(r, 100));
  t.regex((await alertMessage()) ?? '', /out of credits \(402\)/);
  await waitForState(db.pool, result.jobId, 'parse_queued');
  const attempts = await db.pool.oneFirst(sql.type(z.object({ n: z.number() }))`
    select count(*)::int as n from job_events where job_id = ${result.jobId}::uuid and detail ->> 'event' = 'attempt_failed'`);
  t.is(attempts, 0);
  llama.faults = {};
  const states = await waitForTerminal(db.pool, [result.jobId], 30_000);
  t.is(states[result.jobId]!.state, 'complete');
});

test('tvdb ingest stops following when what is left waits for budget, and says so', async (t) => {
  const db = await createTestDatabase();
  const llama = new LlamaParseEmulator({ startDelayMs: 5, perPageDelayMs: 1 });
  await llama.start();
  t.teardown(async () => {
    await llama.stop();
    await db.drop();
  });
  await setBudget(db.pool, 'llamaparse', 'total', 2500, false); // one 2-page document at the fast tier
  const { mkdtempSync, writeFileSync } = await import('node:fs');
  const dir = mkdtempSync('/tmp/tvdb-wait-');
  writeFileSync(`${dir}/a.pdf`, pdf(1));
  writeFileSync(`${dir}/b.pdf`, pdf(2));
  const result = await runTvdb(
    ['ingest', dir],
    cleanEnv({
      DATABASE_URL: db.url,
      LLAMA_CLOUD_API_KEY: 'llx-emulator',
      LLAMA_CLOUD_BASE_URL: llama.url,
      LLAMAPARSE_TIER: 'fast',
      TVDB_BUDGET_RECHECK_S: '1',
    }),
  );
  t.is(result.code, 1);
  t.regex(result.stdout, /waiting for budget: llamaparse total budget/);
  t.regex(result.stdout, /1 complete, 0 failed, 0 refused/);
  t.regex(result.stdout, /1 waiting for budget/);
});
