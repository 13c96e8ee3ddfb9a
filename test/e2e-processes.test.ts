// End to end on real processes: `tvdb serve` (server + workers) with the LlamaParse emulator in
// webhook mode (signed, duplicated and out-of-order deliveries) and the embeddings emulator.
import test from 'ava';
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { sql } from 'slonik';
import { z } from 'zod';
import { createTestDatabase, type TestDatabase } from './helpers/database.ts';
import { cleanEnv, freePort, runTvdb } from './helpers/cli.ts';
import { startTvdb, waitForOutput, type TvdbProcess } from './helpers/processes.ts';
import { waitForTerminal, eventTrail } from './helpers/pipeline.ts';
import { HAS_CORPUS, CORPUS_MISSING, CORPUS_DIR, corpusFile, corpusTest } from './helpers/corpus.ts';
import { LlamaParseEmulator } from '../emulators/llamaparse/index.ts';
import { EmbeddingEmulator } from '../emulators/embeddings.ts';
import { pointAt } from '../emulators/pointAt.ts';
import { HAPPY_PATH } from '../lib/jobs/stages.ts';
import { minimalPdf } from '../lib/documents/minimalPdf.ts';

// Corpus files up to 300 kB keep this test to seconds; the benchmark takes the whole corpus.
const files = HAS_CORPUS
  ? ['pdf', 'docx', 'html', 'text', 'bad']
      .flatMap((dir) => readdirSync(path.join(CORPUS_DIR, dir)).map((f) => `${dir}/${f}`))
      .filter((f) => statSync(path.join(CORPUS_DIR, f)).size <= 300_000)
  : [];
// What the emulator (our local parser behind the LlamaParse API) cannot parse, and the PDF pdf.js
// cannot open (its pages cannot be counted: kept off the paid path). The "malformed" PowerPoint
// has one readable slide: the emulator reads slides as LlamaParse does, so it completes.
// (The API keeps the base name of an uploaded file, as browsers send it.)
const EXPECTED_FAILURES = new Set(['loremipsum-flat.pdf', 'table-multi-row-column-cells.pdf', 'truncated.pdf']);

let db: TestDatabase;
let llama: LlamaParseEmulator;
let embeddings: EmbeddingEmulator;
let serve: TvdbProcess;
let baseUrl: string;
let env: NodeJS.ProcessEnv;
const TOKEN = 'e2e-token-0123456789abcdef';

test.before(async () => {
  db = await createTestDatabase({ poolSize: 3 });
  llama = new LlamaParseEmulator({
    startDelayMs: 10,
    perPageDelayMs: 5,
    faults: { webhooks: { duplicates: 2, outOfOrder: true } },
  });
  embeddings = new EmbeddingEmulator();
  await Promise.all([llama.start(), embeddings.start()]);
  const port = await freePort();
  baseUrl = `http://127.0.0.1:${port}`;
  env = cleanEnv({
    DATABASE_URL: db.url,
    PORT: String(port),
    TVDB_API_TOKEN: TOKEN,
    LOG_LEVEL: 'warn',
    ...pointAt({ llamaparse: llama, embeddings }, 64),
    PUBLIC_BASE_URL: baseUrl,
    LLAMAPARSE_WEBHOOK_SECRET: 'whsec-e2e',
    LLAMAPARSE_RECONCILE_AFTER_S: '120',
    TVDB_POLL_INTERVAL_MS: '250',
  });
  serve = startTvdb(['serve'], env);
  await waitForOutput(serve, /listening on/);
});
test.after.always(async () => {
  await serve?.stop();
  await Promise.all([llama?.stop(), embeddings?.stop()]);
  await db?.drop();
});

async function upload(names: string[], read: (name: string) => Buffer) {
  const form = new FormData();
  for (const name of names) form.append('file', new Blob([new Uint8Array(read(name))]), name);
  const response = await fetch(`${baseUrl}/v1/documents`, {
    method: 'POST',
    body: form,
    headers: { authorization: `Bearer ${TOKEN}` },
  });
  if (response.status !== 202) throw new Error(`upload answered ${response.status}: ${await response.text()}`);
  return ((await response.json()) as { jobs: Array<{ file: string; job_id: string }> }).jobs;
}

corpusTest.serial(
  'webhook mode: every corpus document the parser supports completes exactly once, along the seed path',
  async (t) => {
    const jobs = await upload(files, corpusFile);
    const states = await waitForTerminal(
      db.pool,
      jobs.map((j) => j.job_id),
      120_000,
    );
    for (const job of jobs) {
      const state = states[job.job_id]!;
      if (EXPECTED_FAILURES.has(job.file)) {
        t.is(state.state, 'failed_parse', job.file);
        continue;
      }
      t.is(state.state, 'complete', `${job.file}: ${state.last_error}`);
      t.deepEqual(await eventTrail(db.pool, job.job_id), [...HAPPY_PATH], job.file);
      const counts = await db.pool.one(sql.type(z.object({ chunks: z.number(), vectors: z.number() }))`
      select count(*)::int as chunks,
             count(*) filter (where exists (select 1 from embeddings e where e.content_sha256 = c.content_sha256 and e.model = 'text-embedding-3-small'))::int as vectors
      from chunks c where c.job_id = ${job.job_id}::uuid`);
      t.true(counts.chunks > 0, job.file);
      t.is(counts.vectors, counts.chunks, `${job.file}: every chunk has a vector`);
    }
    const deliveries = await db.pool.one(sql.type(z.object({ rows: z.number(), jobs: z.number() }))`
    select count(*)::int as rows, count(distinct job_id)::int as jobs from webhook_deliveries`);
    t.true(deliveries.rows > deliveries.jobs, 'out-of-order events were recorded too');
    t.true(llama.stats.webhookDeliveries >= 3 * deliveries.jobs, 'duplicates were delivered');
    const billed = await db.pool.oneFirst(sql.type(z.object({ pages: z.number() }))`
    select coalesce(sum(r.credits), 0)::int as pages from parse_results r where r.parser = 'llamaparse'`);
    t.is(billed, llama.stats.billedCredits, 'what we recorded is what the emulator billed');
  },
);

corpusTest.serial('search finds a known phrase from a known document in the top results', async (t) => {
  const result = await runTvdb(
    ['search', 'Dense Passage Retrieval for Open-Domain Question Answering', '-k', '3', '--json'],
    env,
  );
  t.is(result.code, 0, result.stderr);
  const hits = (JSON.parse(result.stdout) as { results: Array<{ file_name: string }> }).results;
  t.is(hits[0]?.file_name, 'multi-column-2p.pdf', JSON.stringify(hits.map((h) => h.file_name)));
});

corpusTest.serial('re-ingesting the unchanged corpus makes zero paid calls to either emulator', async (t) => {
  const uploads = llama.stats.uploads;
  const embeddingRequests = embeddings.stats.requests;
  const supported = files.filter((f) => !EXPECTED_FAILURES.has(path.basename(f)));
  const jobs = await upload(supported, corpusFile);
  const states = await waitForTerminal(
    db.pool,
    jobs.map((j) => j.job_id),
    60_000,
  );
  t.true(Object.values(states).every((s) => s.state === 'complete'));
  t.is(llama.stats.uploads, uploads);
  t.is(embeddings.stats.requests, embeddingRequests);
});

test.serial('SIGTERM: the server finishes and exits cleanly', async (t) => {
  const jobs = await upload(['late.pdf'], () => minimalPdf([['a late document about lighthouses']]));
  await waitForTerminal(
    db.pool,
    jobs.map((j) => j.job_id),
    60_000,
  );
  const code = await serve.stop('SIGTERM');
  t.is(code, 0, serve.output());
});
