// npm run test:real: the seed's real-API scenarios end to end through the real pipeline (`tvdb
// serve`: server + workers, Postgres) against whatever LLAMA_CLOUD_BASE_URL / EMBEDDINGS_BASE_URL
// point at: the real services when keys are given, the emulators otherwise. Same scenarios, same
// assertions. A hard cost cap (REAL_TEST_BUDGET_USD) is a `total` budget in the ledger.
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { sql } from 'slonik';
import { z } from 'zod';
import { scratchDatabase, percentile } from '../../bench/harness.ts';
import { createDatabasePool } from '../../lib/db/database.ts';
import { loadConfig } from '../../lib/config.ts';
import { createLogger } from '../../lib/log.ts';
import { buildDeps } from '../../worker/buildDeps.ts';
import { estimateFile } from '../../lib/pipeline/estimateFiles.ts';
import { setBudget } from '../../lib/costs/reports.ts';
import { formatUsd, parseUsd } from '../../lib/costs/pricing.ts';
import { signBody } from '../../lib/webhooks/signature.ts';
import { LlamaParseEmulator } from '../../emulators/llamaparse/index.ts';
import { EmbeddingEmulator } from '../../emulators/embeddings.ts';
import { startTvdb, waitForOutput } from '../helpers/processes.ts';
import { cleanEnv, freePort } from '../helpers/cli.ts';
import { waitForTerminal } from '../helpers/pipeline.ts';
import { minimalPdf, wrap } from '../../lib/documents/minimalPdf.ts';
import { loadManifest, type ManifestDocument } from './documents.ts';

const realLlama = Boolean(process.env.LLAMA_CLOUD_API_KEY);
const realEmbed = Boolean(process.env.EMBEDDINGS_API_KEY);
const cap = parseUsd(process.env.REAL_TEST_BUDGET_USD ?? '0.50');
console.log(
  `LlamaParse: ${realLlama ? `REAL (${process.env.LLAMA_CLOUD_BASE_URL ?? 'https://api.cloud.llamaindex.ai'})` : 'emulator (no LLAMA_CLOUD_API_KEY given)'}; ` +
    `embeddings: ${realEmbed ? `REAL (${process.env.EMBEDDINGS_BASE_URL ?? 'OpenAI'})` : 'emulator (no EMBEDDINGS_API_KEY given)'}; cap ${formatUsd(cap)}`,
);

type Scenario = {
  name: string;
  ok: boolean;
  checks: string[];
  failures: string[];
  costMicroUsd: number;
  notes: string[];
};
const scenarios: Scenario[] = [];
const unique = (tag: string, pages = 1) =>
  minimalPdf(
    Array.from({ length: pages }, (_, i) =>
      wrap(`${tag} ${randomUUID()} page ${i + 1}: a short document about weather stations and their daily readings.`),
    ),
  );

const db = await scratchDatabase();
const pool = await createDatabasePool(db.url, 4);
const llama = realLlama ? undefined : new LlamaParseEmulator({ startDelayMs: 200, perPageDelayMs: 50 });
const embeddings = realEmbed ? undefined : new EmbeddingEmulator({ latencyMs: 20 });
await Promise.all([llama?.start(), embeddings?.start()]);
const port = await freePort();
const serverUrl = `http://127.0.0.1:${port}`;
const token = randomBytes(16).toString('hex');
const secret = `whsec-${randomBytes(12).toString('hex')}`;
const publicUrl = realLlama ? process.env.PUBLIC_BASE_URL : serverUrl;
if (!publicUrl)
  console.log(
    'no PUBLIC_BASE_URL: LlamaParse cannot reach this machine, so the suite runs in polling mode (see README: real-API tests)',
  );
const env = cleanEnv({
  DATABASE_URL: db.url,
  PORT: String(port),
  TVDB_API_TOKEN: token,
  LOG_LEVEL: 'warn',
  LLAMA_CLOUD_API_KEY: process.env.LLAMA_CLOUD_API_KEY ?? 'llx-emulator',
  LLAMA_CLOUD_BASE_URL: realLlama ? process.env.LLAMA_CLOUD_BASE_URL : llama!.url,
  LLAMAPARSE_TIER: process.env.LLAMAPARSE_TIER ?? 'fast',
  PUBLIC_BASE_URL: publicUrl,
  LLAMAPARSE_WEBHOOK_SECRET: secret,
  LLAMAPARSE_RECONCILE_AFTER_S: '20',
  LLAMAPARSE_TIMEOUT_MS: realLlama ? '60000' : '3000',
  LLAMAPARSE_UPLOADS_PER_10S: '2',
  EMBEDDINGS_PROVIDER: 'openai',
  EMBEDDINGS_API_KEY: process.env.EMBEDDINGS_API_KEY ?? 'sk-emulator',
  EMBEDDINGS_BASE_URL: realEmbed ? process.env.EMBEDDINGS_BASE_URL : embeddings!.url,
  EMBEDDINGS_MODEL: process.env.EMBEDDINGS_MODEL ?? 'text-embedding-3-small',
  EMBEDDINGS_DIMENSIONS: process.env.EMBEDDINGS_DIMENSIONS ?? '256',
  TVDB_MAX_ATTEMPTS: '6',
  TVDB_POLL_INTERVAL_MS: '500',
});
const { documents, skipped } = loadManifest();
for (const s of skipped) console.log(`skipped document ${s}`);
const burst = Array.from({ length: 4 }, (_, i) => ({ name: `burst-${i}.pdf`, bytes: unique(`burst ${i}`) }));
const slow = { name: 'slow.pdf', bytes: unique('slow') };
const concurrent = Array.from({ length: 6 }, (_, i) => ({
  name: `concurrent-${i}.pdf`,
  bytes: unique(`concurrent ${i}`, 2),
}));

// The run's estimate, before any paid call; refuse to start above the cap.
const deps = buildDeps(loadConfig(env), pool, createLogger('silent'));
let estimate = 0;
for (const d of [...documents.filter((d) => d.expect !== 'refused'), ...burst, slow, ...concurrent]) {
  const e = await estimateFile(deps, d.name, d.bytes);
  estimate += e.parseMicroUsd + (e.embedMicroUsd ?? 0);
}
console.log(`estimate for this run: ${formatUsd(estimate)} (cap ${formatUsd(cap)})`);
if (estimate > cap) {
  console.error(
    `the estimate exceeds REAL_TEST_BUDGET_USD: nothing was called. Raise the cap or use a cheaper tier (LLAMAPARSE_TIER=fast).`,
  );
  await cleanup();
  process.exit(1);
}
await setBudget(pool, 'all', 'total', cap, true);
const serve = startTvdb(['serve'], env);
await waitForOutput(serve, /listening on/, 60_000);
let peakRssKb = 0;
const sampler = setInterval(() => {
  try {
    const hwm = /VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${serve.child.pid}/status`, 'utf8'));
    if (hwm) peakRssKb = Math.max(peakRssKb, Number(hwm[1]));
  } catch {}
}, 500);

async function upload(files: Array<{ name: string; bytes: Buffer }>) {
  const form = new FormData();
  for (const f of files) form.append('file', new Blob([new Uint8Array(f.bytes)]), f.name);
  const response = await fetch(`${serverUrl}/v1/documents`, {
    method: 'POST',
    body: form,
    headers: { authorization: `Bearer ${token}` },
  });
  const body = (await response.json()) as {
    jobs?: Array<{ file: string; job_id: string }>;
    refused?: Array<{ file: string; reason: string }>;
  };
  return { status: response.status, jobs: body.jobs ?? [], refused: body.refused ?? [] };
}
const jobCost = (ids: string[]) =>
  pool.oneFirst(sql.type(z.object({ c: z.number() }))`
  select coalesce(sum(cost_micro_usd), 0)::float8 as c from cost_ledger where job_id = any(${sql.array(ids, 'uuid')})`);

async function scenario(
  name: string,
  body: (s: Scenario, check: (ok: boolean, what: string) => void) => Promise<string[]>,
) {
  const s: Scenario = { name, ok: true, checks: [], failures: [], costMicroUsd: 0, notes: [] };
  const check = (ok: boolean, what: string) => (ok ? s.checks : s.failures).push(what);
  try {
    s.costMicroUsd = await jobCost(await body(s, check));
  } catch (error) {
    s.failures.push(`error: ${(error as Error).message}`);
  }
  s.ok = s.failures.length === 0;
  scenarios.push(s);
  console.log(`${s.ok ? 'PASS' : 'FAIL'} ${name}${s.failures.length ? `\n  - ${s.failures.join('\n  - ')}` : ''}`);
}

const completeDocs = documents.filter((d) => d.expect === 'complete');
let firstJob: { id: string; doc: ManifestDocument } | undefined;
const completedJobs = new Map<string, string>();
await scenario('1. successful parsing: upload, parse, webhook or poll, storage, database', async (s, check) => {
  const { jobs } = await upload(completeDocs);
  const states = await waitForTerminal(
    pool,
    jobs.map((j) => j.job_id),
    600_000,
  );
  for (const [i, job] of jobs.entries()) {
    const doc = completeDocs[i]!;
    check(
      states[job.job_id]!.state === 'complete',
      `${doc.id} complete (${states[job.job_id]!.state} ${states[job.job_id]!.last_error ?? ''})`,
    );
    const text = (
      await pool.anyFirst(sql.type(z.object({ m: z.string() }))`
      select p.markdown as m from parsed_pages p join jobs j on j.parse_result_id = p.parse_result_id where j.id = ${job.job_id}::uuid`)
    )
      .join('\n')
      .toLowerCase();
    for (const phrase of doc.phrases) check(text.includes(phrase.toLowerCase()), `${doc.id} contains "${phrase}"`);
    const billed = await pool.maybeOne(sql.type(z.object({ units: z.number(), estimated: z.boolean() }))`
      select units::int, estimated from cost_ledger where job_id = ${job.job_id}::uuid and service = 'llamaparse'`);
    check(
      billed !== null && billed.units > 0,
      `${doc.id}: the ledger shows the pages billed (${billed?.units ?? 0} credits${billed?.estimated ? ', estimated' : ''})`,
    );
    if (!realLlama)
      check(billed?.units === doc.pages, `${doc.id}: ${doc.pages} page(s) billed at 1 credit (fast tier)`);
  }
  firstJob = jobs[0] ? { id: jobs[0].job_id, doc: completeDocs[0]! } : undefined;
  for (const [i, job] of jobs.entries()) completedJobs.set(completeDocs[i]!.id, job.job_id);
  s.notes.push(`mode: ${publicUrl ? 'webhooks' : 'polling'}`);
  return jobs.map((j) => j.job_id);
});

await scenario('2. failed parsing: a corrupt document, and an unsupported type', async (_s, check) => {
  const corrupt = documents.find((d) => d.expect === 'failed_parse')!;
  const { jobs } = await upload([corrupt]);
  const states = await waitForTerminal(
    pool,
    jobs.map((j) => j.job_id),
    600_000,
  );
  const state = states[jobs[0]!.job_id]!;
  check(state.state === 'failed_parse', `corrupt document ends failed_parse (${state.state})`);
  check(/LlamaParse/.test(state.last_error ?? ''), `with the provider's reason: ${state.last_error}`);
  const retries = await pool.oneFirst(sql.type(z.object({ n: z.number() }))`
    select count(*)::int as n from job_events where job_id = ${jobs[0]!.job_id}::uuid and detail ->> 'event' = 'attempt_failed'`);
  check(retries === 0, 'after no retries');
  const billed = await pool.maybeOneFirst(sql.type(z.object({ u: z.number() }))`
    select units::int as u from cost_ledger where job_id = ${jobs[0]!.job_id}::uuid`);
  // A PDF pdf.js cannot open is kept off the paid path (its pages, so its bill, cannot be bounded):
  // nothing is billed. One LlamaParse received and failed is billed as LlamaParse bills it.
  if (/not sent to LlamaParse/.test(state.last_error ?? ''))
    check(billed === null, `never sent, so nothing billed (${billed ?? 'no'} credits)`);
  else check(billed !== null, `billed as the provider bills it (${billed ?? 'no'} credits)`);
  const unsupported = documents.find((d) => d.expect === 'refused');
  if (unsupported) {
    const refused = await upload([unsupported]);
    check(
      refused.status === 422 && /unsupported type/.test(refused.refused[0]?.reason ?? ''),
      `unsupported type refused at intake: ${refused.refused[0]?.reason}`,
    );
  }
  return jobs.map((j) => j.job_id);
});

await scenario('3. webhook security: valid, invalid and missing signatures; replay', async (_s, check) => {
  if (!firstJob) throw new Error('no job from scenario 1');
  const row = await pool.one(sql.type(z.object({ token: z.string(), lp: z.string(), state: z.string() }))`
    select webhook_token as token, llamaparse_job_id as lp, state::text from jobs where id = ${firstJob.id}::uuid`);
  const body = JSON.stringify({
    event_id: randomUUID(),
    event_type: 'parse.success',
    timestamp: Date.now() / 1000,
    data: { id: row.lp, job_id: row.lp },
  });
  const post = (headers: Record<string, string>, payload = body) =>
    fetch(`${serverUrl}/webhooks/llamaparse/${row.token}`, {
      method: 'POST',
      body: payload,
      headers: { 'content-type': 'application/json', ...headers },
    });
  const deliveries = () =>
    pool.oneFirst(
      sql.type(
        z.object({ n: z.number() }),
      )`select count(*)::int as n from webhook_deliveries where job_id = ${firstJob!.id}::uuid`,
    );
  const before = await deliveries();
  check((await post({ 'lc-signature': signBody(body, secret) })).status === 200, 'valid signature accepted');
  check(
    (await post({ 'lc-signature': signBody(body, 'not-the-secret') })).status === 401,
    'invalid signature refused (401)',
  );
  check((await post({})).status === 401, 'missing signature refused (401)');
  const replay = await post({ 'lc-signature': signBody(body, secret) });
  check(
    replay.status === 200 && ((await replay.json()) as { duplicate: boolean }).duplicate,
    'a replayed delivery answers 2xx and changes nothing',
  );
  check((await deliveries()) === before + 1, 'one delivery row');
  const state = await pool.oneFirst(
    sql.type(z.object({ s: z.string() }))`select state::text as s from jobs where id = ${firstJob.id}::uuid`,
  );
  check(state === row.state, 'the job is untouched');
  const malformed = '{"event_id": ';
  check(
    (await post({ 'lc-signature': signBody(malformed, secret) }, malformed)).status === 400,
    'a malformed payload is refused (400)',
  );
  return [];
});

await scenario('4. error handling: rate limits, timeouts', async (s, check) => {
  if (llama) llama.faults = { rateLimit: { count: 2, retryAfterS: 1 } };
  const { jobs } = await upload(burst);
  const states = await waitForTerminal(
    pool,
    jobs.map((j) => j.job_id),
    600_000,
  );
  check(
    Object.values(states).every((x) => x.state === 'complete'),
    `a burst of ${burst.length} uploads above the limit (2 per 10 s${llama ? ', plus two 429s' : ''}) completes, no job fails`,
  );
  const ids = jobs.map((j) => j.job_id);
  if (llama) {
    const times = llama.uploadTimes.slice(-burst.length).sort((a, b) => a - b);
    check(
      times.at(-1)! - times[0]! >= 4000,
      `the uploads were spread by our limiter (${times.at(-1)! - times[0]!} ms)`,
    );
    llama.faults = { slowResponses: { count: 1, delayMs: 4500 } };
    const slowJobs = await upload([slow]);
    const slowStates = await waitForTerminal(
      pool,
      slowJobs.jobs.map((j) => j.job_id),
      600_000,
    );
    check(
      slowStates[slowJobs.jobs[0]!.job_id]!.state === 'complete',
      'a provider answer slower than the client timeout is retried and completes',
    );
    const timedOut = await pool.oneFirst(sql.type(z.object({ n: z.number() }))`
      select count(*)::int as n from job_events where job_id = ${slowJobs.jobs[0]!.job_id}::uuid and detail ->> 'error' like '%timed out%'`);
    check(timedOut === 1, 'the timeout was recorded as a failed attempt');
    ids.push(...slowJobs.jobs.map((j) => j.job_id));
    llama.faults = {};
  } else s.notes.push('timeouts: cannot be provoked on the real service; covered in emulator mode');
  return ids;
});

const performance_ = {
  throughputDocsPerS: 0,
  e2eP50S: 0,
  e2eP95S: 0,
  parsePerPageP50S: 0,
  parsePerPageP95S: 0,
  peakWorkerRssMb: 0,
};
await scenario(`5. performance: ${concurrent.length} documents at once`, async (s, check) => {
  // Scenario 4 ran with a tight limit to provoke the limiter; measure with the documented one.
  await pool.query(sql.unsafe`select configure_rate_limit('llamaparse:uploads', 50, 5)`);
  s.notes.push('uploads limited to the documented 50 per 10 s');
  const started = Date.now();
  const { jobs } = await upload(concurrent);
  const states = await waitForTerminal(
    pool,
    jobs.map((j) => j.job_id),
    600_000,
  );
  const seconds = (Date.now() - started) / 1000;
  check(
    Object.values(states).every((x) => x.state === 'complete'),
    'all complete',
  );
  performance_.throughputDocsPerS = jobs.length / seconds;
  return jobs.map((j) => j.job_id);
});
clearInterval(sampler);
const latencies = await pool.any(sql.type(z.object({ e2e: z.number(), parse_per_page: z.number().nullable() }))`
  select extract(epoch from (select max(at) from job_events e where e.job_id = j.id and e.to_state = 'complete') - j.created_at)::float8 as e2e,
         (extract(epoch from (select min(at) from job_events e where e.job_id = j.id and e.to_state = 'parsed')
                          - (select min(at) from job_events e where e.job_id = j.id and e.to_state = 'parse_queued')) / nullif(r.page_count, 0))::float8 as parse_per_page
  from jobs j join parse_results r on r.id = j.parse_result_id where j.state = 'complete'`);
const e2e = latencies.map((l) => l.e2e).sort((a, b) => a - b);
const perPage = latencies
  .map((l) => l.parse_per_page)
  .filter((x): x is number => x !== null)
  .sort((a, b) => a - b);
Object.assign(performance_, {
  e2eP50S: percentile(e2e, 50),
  e2eP95S: percentile(e2e, 95),
  parsePerPageP50S: percentile(perPage, 50),
  parsePerPageP95S: percentile(perPage, 95),
  peakWorkerRssMb: peakRssKb / 1024,
});
await scenario(
  '6. a Word file with pictures: references, not bytes; every chunk within the model limit',
  async (s, check) => {
    const id = completedJobs.get('docx-pictures');
    if (!id) {
      check(false, 'the Word file with pictures was ingested in scenario 1');
      return [];
    }
    const chunks = await pool.any(sql.type(z.object({ content: z.string(), tokens: z.number() }))`
    select content, token_count as tokens from chunks where job_id = ${id}::uuid order by ordinal`);
    check(chunks.length > 0, `${chunks.length} chunk(s)`);
    check(
      chunks.every((c) => !/[A-Za-z0-9+/]{120,}/.test(c.content)),
      'no chunk holds image bytes (no base64 run of 120 characters)',
    );
    check(
      chunks.every((c) => c.tokens <= 8192),
      `no chunk over 8,192 tokens (largest ${Math.max(0, ...chunks.map((c) => c.tokens))})`,
    );
    const text = chunks.map((c) => c.content).join('\n');
    // The emulator parses as our local parser does; LlamaParse writes its own image references.
    if (!realLlama)
      check(text.includes('![A chart of monthly tides](image 1)'), 'the pictures are kept as readable references');
    const billed = await pool.oneFirst(sql.type(z.object({ n: z.number() }))`
    select coalesce(sum(units), 0)::int as n from cost_ledger where job_id = ${id}::uuid and service = 'embeddings'`);
    check(
      billed > 0 && billed < 2000,
      `embedding tokens billed: ${billed} (the pictures' bytes would be ~40,000 each)`,
    );
    s.notes.push(`docx with 3 pictures: ${billed} embedding tokens`);
    return [];
  },
);

const total = await pool.oneFirst(
  sql.type(z.object({ c: z.number() }))`select coalesce(sum(cost_micro_usd), 0)::float8 as c from cost_ledger`,
);
const withinCap = total <= cap;
await serve.stop();
await cleanup();

const target = {
  llamaparse: realLlama ? 'real' : 'emulator',
  embeddings: realEmbed ? 'real' : 'emulator',
  webhooks: publicUrl ? 'webhooks' : 'polling',
};
const report = {
  at: new Date().toISOString(),
  target,
  capMicroUsd: cap,
  estimateMicroUsd: estimate,
  totalMicroUsd: total,
  withinCap,
  scenarios,
  performance: performance_,
  skipped,
};
mkdirSync('reports', { recursive: true });
const stamp = report.at.replace(/[:.]/g, '-');
const markdown = [
  `# Real-API test run ${report.at}`,
  '',
  `Target: LlamaParse ${target.llamaparse}, embeddings ${target.embeddings}, ${target.webhooks}. Cap ${formatUsd(cap)}, estimate ${formatUsd(estimate)}, spent ${formatUsd(total)} (${withinCap ? 'within' : 'OVER'} the cap).`,
  '',
  '| scenario | result | checks | cost |',
  '|---|---|---|---|',
  ...scenarios.map(
    (s) =>
      `| ${s.name} | ${s.ok ? 'pass' : 'FAIL'} | ${s.checks.length} passed${s.failures.length ? `, ${s.failures.length} failed: ${s.failures.join('; ')}` : ''}${s.notes.length ? ` (${s.notes.join('; ')})` : ''} | ${formatUsd(s.costMicroUsd)} |`,
  ),
  '',
  '| measure | value |',
  '|---|---|',
  `| end-to-end latency per document, p50 / p95 | ${performance_.e2eP50S.toFixed(2)} s / ${performance_.e2eP95S.toFixed(2)} s |`,
  `| parse latency per page, p50 / p95 | ${performance_.parsePerPageP50S.toFixed(2)} s / ${performance_.parsePerPageP95S.toFixed(2)} s |`,
  `| throughput, ${concurrent.length} documents at once | ${performance_.throughputDocsPerS.toFixed(2)} documents/s |`,
  `| peak memory of the server + workers process | ${performance_.peakWorkerRssMb.toFixed(0)} MB |`,
  '',
].join('\n');
writeFileSync(`reports/real-${stamp}.md`, markdown);
writeFileSync(`reports/real-${stamp}.json`, JSON.stringify(report, null, 2));
console.log(`\n${markdown}\nreport: reports/real-${stamp}.md and .json`);
const failed = scenarios.filter((s) => !s.ok).length + (withinCap ? 0 : 1);
console.log(
  `${scenarios.length - scenarios.filter((s) => !s.ok).length} passed, ${scenarios.filter((s) => !s.ok).length} failed`,
);
process.exit(failed ? 1 : 0);

async function cleanup() {
  await pool.end();
  await Promise.all([llama?.stop(), embeddings?.stop()]);
  await db.drop();
}
