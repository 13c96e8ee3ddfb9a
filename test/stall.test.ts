// A worker frozen (SIGSTOP) in the middle of a paid call for twice the stale window, while another
// worker runs: the survivors take the frozen worker for dead and unlock its jobs, but its stage run
// keeps its lease over the call's timeout, so no other run repeats the call; woken (SIGCONT), the
// frozen run records what it was paid for. Each provider call happens once and the ledger equals
// what the providers billed.
import test, { type ExecutionContext } from 'ava';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { sql } from 'slonik';
import { z } from 'zod';
import { createTestDatabase, type TestDatabase } from './helpers/database.ts';
import { cleanEnv, runTvdb } from './helpers/cli.ts';
import { startTvdb, type TvdbProcess } from './helpers/processes.ts';
import { waitForTerminal } from './helpers/pipeline.ts';
import { LlamaParseEmulator } from '../emulators/llamaparse/index.ts';
import { EmbeddingEmulator } from '../emulators/embeddings.ts';
import { pointAt } from '../emulators/pointAt.ts';
import { overlappingRuns } from './helpers/providerCalls.ts';
import { ledgerBounds } from './helpers/costs.ts';
import { tokenCostMicroUsd } from '../lib/costs/pricing.ts';

const STALE_S = 3;

type Setup = {
  db: TestDatabase;
  llama: LlamaParseEmulator;
  embeddings: EmbeddingEmulator;
  env: NodeJS.ProcessEnv;
  workers: TvdbProcess[];
  ids: string[];
};

async function setup(t: ExecutionContext, embeddingLatencyMs: number): Promise<Setup> {
  const db = await createTestDatabase({ poolSize: 3 });
  const llama = new LlamaParseEmulator({ startDelayMs: 10, perPageDelayMs: 5 });
  const embeddings = new EmbeddingEmulator({ latencyMs: embeddingLatencyMs });
  await Promise.all([llama.start(), embeddings.start()]);
  const workers: TvdbProcess[] = [];
  t.teardown(async () => {
    for (const w of workers) w.child.kill('SIGCONT');
    await Promise.all(workers.map((w) => w.stop('SIGKILL')));
    await Promise.all([llama.stop(), embeddings.stop()]);
    await db.drop();
  });
  const dir = mkdtempSync(path.join(tmpdir(), 'tvdb-stall-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  for (let i = 0; i < 6; i++)
    writeFileSync(
      path.join(dir, `doc-${i}.md`),
      `# Document ${i}\n\n${Array.from({ length: 60 }, (_, k) => `Paragraph ${k} of document ${i} about topic ${(i * 7 + k) % 13}.`).join('\n\n')}\n`,
    );
  const env = cleanEnv({
    DATABASE_URL: db.url,
    ...pointAt({ llamaparse: llama, embeddings }, 32),
    TVDB_WORKER_CONCURRENCY: '2',
    TVDB_POLL_INTERVAL_MS: '200',
    TVDB_HEARTBEAT_MS: '1000',
    TVDB_WORKER_STALE_S: String(STALE_S),
    LLAMAPARSE_TIMEOUT_MS: '30000',
    EMBEDDINGS_TIMEOUT_MS: '30000',
  });
  const submitted = await runTvdb(['ingest', '--no-wait', '--json', dir], env);
  const ids = (JSON.parse(submitted.stdout) as { results: Array<{ jobId: string }> }).results.map((r) => r.jobId);
  t.is(ids.length, 6);
  return { db, llama, embeddings, env, workers, ids };
}

async function until(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 60_000) {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Two workers: the second has room for every job, so it tries a frozen worker's jobs as soon as
 * they are unlocked. */
function startWorkers(s: Setup) {
  s.workers.push(startTvdb(['worker'], s.env), startTvdb(['worker'], { ...s.env, TVDB_WORKER_CONCURRENCY: '8' }));
}

/** The worker whose stage run sent this call (X-TVDB-Run "<job>:<stage>:<token>"; the lease's
 * owner is "<host>:<pid>:<graphile job>"). */
async function senderOf(s: Setup, run: string): Promise<TvdbProcess> {
  const token = run.split(':')[2]!;
  const owner = await s.db.pool.oneFirst(sql.type(z.object({ owner: z.string() }))`
    select owner from stage_leases where token = ${token}::bigint`);
  const pid = Number(owner.split(':')[1]);
  return s.workers.find((w) => w.child.pid === pid)!;
}

/** Freeze `victim` for twice the stale window, and until the other worker has found the frozen
 * run's stage held (a stage_busy note), then wake it. */
async function freeze(s: Setup, victim: TvdbProcess) {
  victim.child.kill('SIGSTOP');
  const frozenAt = Date.now();
  await new Promise((r) => setTimeout(r, 2 * STALE_S * 1000));
  await until('the other worker to try the frozen stage', async () => (await notes(s.db, 'stage_busy')) > 0, 30_000);
  victim.child.kill('SIGCONT');
  return Date.now() - frozenAt;
}

async function ledgerTotals(db: TestDatabase) {
  return db.pool.any(sql.type(z.object({ service: z.string(), rows: z.number(), units: z.number() }))`
    select service, count(*)::int as rows, sum(units)::int as units from cost_ledger group by service order by service`);
}

/** Exactly once, in money: the ledger holds at least what each provider billed, and beyond it only
 * the estimates of calls whose outcome is unknown (1,250 micro-USD a credit; 20,000 per 1M tokens). */
async function assertLedgerBounds(t: ExecutionContext, s: Awaited<ReturnType<typeof setup>>) {
  const billed = {
    llamaparse: s.llama.stats.billedCredits * 1250,
    embeddings: s.embeddings.billed.reduce((sum, call) => sum + tokenCostMicroUsd(call.tokens, 20_000), 0),
  };
  for (const service of ['llamaparse', 'embeddings'] as const) {
    const b = await ledgerBounds(s.db.pool, service);
    t.true(
      b.total + b.pending >= billed[service],
      `${service}: ledger ${b.total} + pending >= billed ${billed[service]}`,
    );
    t.true(
      b.total <= billed[service] + b.estimated + b.pending,
      `${service}: ledger ${b.total} <= billed ${billed[service]} + estimates ${b.estimated} + pending ${b.pending}`,
    );
  }
}

async function notes(db: TestDatabase, event: string) {
  return db.pool.oneFirst(sql.type(z.object({ n: z.number() }))`
    select count(*)::int as n from job_events where kind = 'note' and detail ->> 'event' = ${event}`);
}

test.serial('SIGSTOP in the middle of an embed call: the call is made once and billed once', async (t) => {
  const s = await setup(t, 4000);
  startWorkers(s);
  // An embedding request has reached the provider and is not answered yet: freeze its sender.
  await until('an embedding request in flight', () => s.embeddings.received.length > s.embeddings.billed.length);
  const victim = await senderOf(s, s.embeddings.received.at(-1)!.run!);
  const frozenMs = await freeze(s, victim);
  const jobs = await waitForTerminal(s.db.pool, s.ids, 120_000);
  t.true(
    Object.values(jobs).every((j) => j.state === 'complete'),
    JSON.stringify(jobs),
  );
  const billed = s.embeddings.billed;
  const inputs = billed.flatMap((c) => c.inputs);
  t.is(new Set(inputs).size, inputs.length, 'no text was embedded twice');
  const ledger = Object.fromEntries((await ledgerTotals(s.db)).map((r) => [r.service, r]));
  t.is(ledger.embeddings?.rows, billed.length, 'one ledger row per billed embedding request');
  t.is(
    ledger.embeddings?.units,
    billed.reduce((n, c) => n + c.tokens, 0),
    'the ledger holds exactly the tokens billed',
  );
  t.is(ledger.llamaparse?.units, s.llama.stats.billedCredits, 'and the credits LlamaParse billed');
  t.deepEqual(overlappingRuns(billed), [], 'no two runs of one stage called at once');
  const vectors = await s.db.pool.oneFirst(sql.type(z.object({ n: z.number() }))`
    select count(*)::int as n from embeddings`);
  t.is(vectors, new Set(inputs).size, 'one vector per distinct text, none twice');
  await assertLedgerBounds(t, s);
  t.log(`frozen ${frozenMs} ms; ${billed.length} embedding requests for ${inputs.length} texts`);
});

test.serial(
  'SIGSTOP in the middle of a LlamaParse upload: each document is uploaded once and billed once',
  async (t) => {
    const s = await setup(t, 0);
    // The next upload is answered only after 4 s: its worker is frozen while it waits for the answer.
    s.llama.faults = { slowResponses: { count: 1, delayMs: 4000 } };
    startWorkers(s);
    await until('an upload in flight', () => s.llama.received.length > 0);
    const victim = await senderOf(s, s.llama.received[0]!.run!);
    const frozenMs = await freeze(s, victim);
    const jobs = await waitForTerminal(s.db.pool, s.ids, 120_000);
    t.true(
      Object.values(jobs).every((j) => j.state === 'complete'),
      JSON.stringify(jobs),
    );
    const perJob = new Map<string, number>();
    for (const u of s.llama.uploadLog) perJob.set(u.tvdbJobId ?? '', (perJob.get(u.tvdbJobId ?? '') ?? 0) + 1);
    t.deepEqual(
      [...perJob.values()],
      s.ids.map(() => 1),
      'each document uploaded once',
    );
    t.is(perJob.size, s.ids.length);
    const ledger = Object.fromEntries((await ledgerTotals(s.db)).map((r) => [r.service, r]));
    t.is(ledger.llamaparse?.rows, s.ids.length, 'one LlamaParse ledger row per document');
    t.is(ledger.llamaparse?.units, s.llama.stats.billedCredits, 'the ledger holds exactly the credits billed');
    t.is(
      ledger.embeddings?.units,
      s.embeddings.billed.reduce((n, c) => n + c.tokens, 0),
      'and the tokens billed',
    );
    await assertLedgerBounds(t, s);
    t.log(`frozen ${frozenMs} ms; ${s.llama.uploadLog.length} uploads for ${s.ids.length} documents`);
  },
);
