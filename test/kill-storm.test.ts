// Twelve SIGKILLs of random workers among three, over corpus documents on the provider emulators:
// every job ends terminal, no move is recorded twice, no provider call was made by two live runs
// of one stage (each paid call names its run; runs of one job and stage never overlap), and the
// ledger with its estimated rows holds at least what each provider billed.
import test from 'ava';
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { sql } from 'slonik';
import { z } from 'zod';
import { createTestDatabase } from './helpers/database.ts';
import { cleanEnv, runTvdb } from './helpers/cli.ts';
import { startTvdb, type TvdbProcess } from './helpers/processes.ts';
import { waitForTerminal, eventTrail } from './helpers/pipeline.ts';
import { HAS_CORPUS, CORPUS_MISSING, CORPUS_DIR, corpusTest } from './helpers/corpus.ts';
import { LlamaParseEmulator } from '../emulators/llamaparse/index.ts';
import { EmbeddingEmulator } from '../emulators/embeddings.ts';
import { pointAt } from '../emulators/pointAt.ts';
import { overlappingRuns } from './helpers/providerCalls.ts';
import { HAPPY_PATH } from '../lib/jobs/stages.ts';
import { tokenCostMicroUsd } from '../lib/costs/pricing.ts';
import { ledgerBounds } from './helpers/costs.ts';

const KILLS = 12;

corpusTest(
  'twelve SIGKILLs among three workers: every job terminal, no move twice, no call by two live runs',
  async (t) => {
    // The corpus but its three largest files (the 619-page PDF, the 10-K and War and Peace).
    const files = ['pdf', 'docx', 'html', 'text', 'bad']
      .flatMap((dir) => readdirSync(path.join(CORPUS_DIR, dir)).map((f) => path.join(CORPUS_DIR, dir, f)))
      .filter((f) => statSync(f).size <= 1_300_000);
    const db = await createTestDatabase({ poolSize: 3 });
    // Latency, so kills land in the middle of calls.
    const llama = new LlamaParseEmulator({ startDelayMs: 200, perPageDelayMs: 50 });
    const embeddings = new EmbeddingEmulator({ latencyMs: 400 });
    await Promise.all([llama.start(), embeddings.start()]);
    const workers: TvdbProcess[] = [];
    t.teardown(async () => {
      await Promise.all(workers.map((w) => w.stop('SIGKILL')));
      await Promise.all([llama.stop(), embeddings.stop()]);
      await db.drop();
    });
    const env = cleanEnv({
      DATABASE_URL: db.url,
      ...pointAt({ llamaparse: llama, embeddings }, 32),
      TVDB_WORKER_CONCURRENCY: '3',
      TVDB_POLL_INTERVAL_MS: '200',
      TVDB_HEARTBEAT_MS: '1000',
      TVDB_WORKER_STALE_S: '3',
      // A killed run keeps its stage for its call's timeout plus the stale window: keep them short.
      LLAMAPARSE_TIMEOUT_MS: '5000',
      EMBEDDINGS_TIMEOUT_MS: '5000',
      // Small chunks: more embedding calls to land kills in.
      CHUNK_TARGET_TOKENS: '128',
      CHUNK_OVERLAP_TOKENS: '16',
    });
    const submitted = await runTvdb(['ingest', '--no-wait', '--json', ...files], env);
    const accepted = (JSON.parse(submitted.stdout) as { results: Array<{ ok: boolean; jobId: string }> }).results
      .filter((r) => r.ok)
      .map((r) => r.jobId);
    t.true(accepted.length >= 25, `${accepted.length} documents accepted`);
    for (let i = 0; i < 3; i++) workers.push(startTvdb(['worker'], env));

    // Kill a random live worker every 1-2.5 s while work remains, starting a fresh one each time.
    let seed = 7;
    const random = () => (seed = (seed * 48271) % 2147483647) / 2147483647;
    const remaining = () =>
      db.pool.oneFirst(sql.type(z.object({ n: z.number() }))`
      select count(*)::int as n from jobs where state not in ('complete', 'failed_parse', 'failed_chunking', 'failed_embedding')`);
    let kills = 0;
    while (kills < KILLS && (await remaining()) > 0) {
      await new Promise((r) => setTimeout(r, 1000 + random() * 1500));
      const live = workers.filter((w) => w.child.exitCode === null && w.child.signalCode === null);
      const victim = live[Math.floor(random() * live.length)]!;
      victim.child.kill('SIGKILL');
      await victim.exited;
      kills += 1;
      workers.push(startTvdb(['worker'], env));
    }
    t.log(`${kills} workers killed`);
    const jobs = await waitForTerminal(db.pool, accepted, 240_000);

    const failed = Object.values(jobs).filter((j) => j.state !== 'complete');
    for (const j of failed) t.regex(j.state, /^failed_parse$/, `${j.file_name}: ${j.state} (${j.last_error})`);
    // Scanned PDFs (no text layer): the emulator (our local parser behind the LlamaParse API) cannot
    // read them; the truncated PDF: pdf.js cannot count its pages, so it is not sent.
    t.true(
      failed.every((f) => /loremipsum-flat|table-multi-row|truncated/.test(f.file_name)),
      `only the documents the parser cannot read fail: ${failed.map((f) => `${f.file_name} (${f.last_error})`).join(', ')}`,
    );
    for (const id of accepted) {
      if (jobs[id]!.state !== 'complete') continue;
      t.deepEqual(await eventTrail(db.pool, id), [...HAPPY_PATH], `no move recorded twice (${jobs[id]!.file_name})`);
    }
    t.deepEqual(overlappingRuns(embeddings.billed), [], 'no embedding call by two live runs of one stage');
    t.deepEqual(overlappingRuns(llama.uploadLog), [], 'no upload by two live runs of one stage');
    const duplicateVectors = await db.pool.oneFirst(sql.type(z.object({ n: z.number() }))`
    select count(*)::int as n from (select 1 from embeddings group by content_sha256, model, dimensions having count(*) > 1) d`);
    t.is(duplicateVectors, 0, 'no vector stored twice');
    // Nothing paid and unrecorded: what the ledger holds (its estimated rows included) is at least
    // what each provider billed, in money (fast tier 1,250 micro-USD a credit; 20,000 per 1M tokens).
    const ledger = await db.pool.one(sql.type(
      z.object({ llamaparse: z.number(), embeddings: z.number(), estimated: z.number(), pending: z.number() }),
    )`
    select coalesce(sum(cost_micro_usd) filter (where service = 'llamaparse'), 0)::float8 as llamaparse,
           coalesce(sum(cost_micro_usd) filter (where service = 'embeddings'), 0)::float8 as embeddings,
           coalesce(sum(cost_micro_usd) filter (where estimated), 0)::float8 as estimated,
           (select coalesce(sum(pending_call_micro_usd), 0) from budget_reservations where status = 'held')::float8 as pending
    from cost_ledger`);
    const llamaBilled = llama.stats.billedCredits * 1250;
    const embedBilled = embeddings.billed.reduce((sum, call) => sum + tokenCostMicroUsd(call.tokens, 20_000), 0);
    t.log(
      `billed: LlamaParse ${llamaBilled}, embeddings ${embedBilled} micro-USD; ledger: ${ledger.llamaparse}, ` +
        `${ledger.embeddings} (${ledger.estimated} of it estimated; ${ledger.pending} still pending)`,
    );
    t.true(ledger.llamaparse + ledger.pending >= llamaBilled, 'LlamaParse: ledger + estimated >= billed');
    t.true(ledger.embeddings + ledger.pending >= embedBilled, 'embeddings: ledger + estimated >= billed');
    // Nothing recorded twice: beyond what was billed, the ledger holds only the estimates of calls
    // whose outcome is unknown (and what is still pending).
    for (const [service, billed] of [
      ['llamaparse', llamaBilled],
      ['embeddings', embedBilled],
    ] as const) {
      const b = await ledgerBounds(db.pool, service);
      t.log(`${service}: ledger ${b.total} (estimates ${b.estimated}, pending ${b.pending}), billed ${billed}`);
      t.true(b.total + b.pending >= billed, `${service}: ledger + pending >= billed`);
      t.true(b.total <= billed + b.estimated + b.pending, `${service}: ledger <= billed + estimates of unknown calls`);
    }
    const runs = new Set([...embeddings.billed, ...llama.uploadLog].map((c) => c.run));
    t.log(
      `${accepted.length} jobs, ${failed.length} failed_parse; ${llama.uploadLog.length} uploads, ` +
        `${embeddings.billed.length} embedding calls by ${runs.size} runs`,
    );
  },
);
