// Acceptance for issue 15 with real worker processes and the provider emulators: under a small
// LlamaParse budget, fifty 300-slide decks and text files full of form feeds never take the ledger
// (nor what LlamaParse bills) over the limit; once the limit allows, every page is parsed.
import test from 'ava';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { sql } from 'slonik';
import { z } from 'zod';
import { createTestDatabase } from './helpers/database.ts';
import { cleanEnv, runTvdb } from './helpers/cli.ts';
import { startTvdb, type TvdbProcess } from './helpers/processes.ts';
import { waitForTerminal } from './helpers/pipeline.ts';
import { formFeedText, makePptx } from './helpers/officeFiles.ts';
import { LlamaParseEmulator } from '../emulators/llamaparse/index.ts';
import { EmbeddingEmulator } from '../emulators/embeddings.ts';
import { pointAt } from '../emulators/pointAt.ts';

const DECKS = 50;
const SLIDES = 300;
const TEXTS = 10;
const TEXT_PAGES = 200;
const MICRO_USD_PER_PAGE = 1250; // fast tier: 1 credit per page at $0.00125 a credit
const LIMIT = 2_000_000; // $2: room for 1,600 pages of the 17,000

test('a small LlamaParse budget is never exceeded by decks and form-feed texts; every page is parsed once the limit allows', async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'tvdb-bounds-'));
  const pagesOf = new Map<string, number>();
  for (let i = 0; i < DECKS; i++) {
    writeFileSync(path.join(dir, `deck-${i}.pptx`), makePptx(SLIDES, `deck ${i}`));
    pagesOf.set(`deck-${i}.pptx`, SLIDES);
  }
  for (let i = 0; i < TEXTS; i++) {
    // Short pages, as in the report: ~4.6 KB for 200 pages, once estimated at 2 pages.
    writeFileSync(path.join(dir, `feeds-${i}.txt`), formFeedText(TEXT_PAGES, `feeds ${i}`));
    pagesOf.set(`feeds-${i}.txt`, TEXT_PAGES);
  }
  const db = await createTestDatabase({ poolSize: 3 });
  const llama = new LlamaParseEmulator({ startDelayMs: 5, perPageDelayMs: 0 });
  const embeddings = new EmbeddingEmulator();
  await Promise.all([llama.start(), embeddings.start()]);
  const workers: TvdbProcess[] = [];
  t.teardown(async () => {
    await Promise.all(workers.map((w) => w.stop()));
    await Promise.all([llama.stop(), embeddings.stop()]);
    await db.drop();
    rmSync(dir, { recursive: true, force: true });
  });
  const env = cleanEnv({
    DATABASE_URL: db.url,
    ...pointAt({ llamaparse: llama, embeddings }, 32),
    TVDB_WORKER_CONCURRENCY: '4',
    TVDB_POLL_INTERVAL_MS: '200',
    TVDB_BUDGET_RECHECK_S: '1',
  });
  const limitUsd = (microUsd: number) => (microUsd / 1e6).toFixed(6);
  const set = await runTvdb(['budget', 'set', 'llamaparse', '--period', 'total', '--limit-usd', limitUsd(LIMIT)], env);
  t.is(set.code, 0, set.stderr);
  const submitted = await runTvdb(['ingest', '--no-wait', '--json', dir], env);
  t.is(submitted.code, 0, submitted.stderr);
  const ids = (JSON.parse(submitted.stdout) as { results: Array<{ ok: boolean; jobId: string }> }).results
    .filter((r) => r.ok)
    .map((r) => r.jobId);
  t.is(ids.length, DECKS + TEXTS);
  for (let i = 0; i < 2; i++) workers.push(startTvdb(['worker'], env));

  // Watch the ledger and the provider's bill while the workers run into the limit.
  const spent = () =>
    db.pool.oneFirst(sql.type(z.object({ s: z.number() }))`
      select coalesce(sum(cost_micro_usd), 0)::float8 as s from cost_ledger where service = 'llamaparse'`);
  const parsedJobs = () =>
    db.pool.oneFirst(sql.type(z.object({ n: z.number() }))`
      select count(*)::int as n from jobs where parse_result_id is not null`);
  let maxSpent = 0;
  let maxBilled = 0;
  let settledFor = 0;
  let last = -1;
  for (const end = Date.now() + 120_000; Date.now() < end && settledFor < 5_000;) {
    await new Promise((r) => setTimeout(r, 100));
    maxSpent = Math.max(maxSpent, await spent());
    maxBilled = Math.max(maxBilled, llama.stats.billedCredits * MICRO_USD_PER_PAGE);
    const done = await parsedJobs();
    settledFor = done === last && done > 0 ? settledFor + 100 : 0;
    last = done;
  }
  t.log(`under the limit: ${last} documents parsed, ledger at most ${maxSpent} of ${LIMIT} micro-USD`);
  t.true(maxSpent <= LIMIT, `the ledger stayed within the limit (${maxSpent} <= ${LIMIT})`);
  t.true(maxBilled <= LIMIT, `LlamaParse billed within the limit (${maxBilled} <= ${LIMIT})`);
  t.true(last > 0 && last < ids.length, 'part of the work fits the limit, the rest waits');
  const waiting = await db.pool.oneFirst(sql.type(z.object({ n: z.number() }))`
    select count(distinct job_id)::int as n from job_events where detail ->> 'event' = 'waiting_for_budget'`);
  t.true(waiting > 0, 'the rest waits for budget');

  // Raise the limit to what everything costs: every page is parsed, none twice, none dropped.
  const total = [...pagesOf.values()].reduce((a, b) => a + b, 0) * MICRO_USD_PER_PAGE;
  const raised = await runTvdb(
    ['budget', 'set', 'llamaparse', '--period', 'total', '--limit-usd', limitUsd(total)],
    env,
  );
  t.is(raised.code, 0, raised.stderr);
  const jobs = await waitForTerminal(db.pool, ids, 240_000);
  t.deepEqual(
    Object.values(jobs).filter((j) => j.state !== 'complete'),
    [],
    'every job completes',
  );
  const parsed = await db.pool.any(sql.type(z.object({ file_name: z.string(), count: z.number() }))`
    select j.file_name, r.page_count as count
    from jobs j join parse_results r on r.id = j.parse_result_id`);
  t.deepEqual(
    Object.fromEntries(parsed.map((p) => [path.basename(p.file_name), p.count])),
    Object.fromEntries(pagesOf),
    'every page of every document parsed',
  );
  const final = await spent();
  t.is(final, total, 'the ledger holds exactly what LlamaParse billed');
  t.is(llama.stats.billedCredits * MICRO_USD_PER_PAGE, total);
  t.is(llama.stats.uploads, ids.length, 'one upload per document');
});
