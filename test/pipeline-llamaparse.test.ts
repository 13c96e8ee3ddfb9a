import test from 'ava';
import type { JobHelpers } from 'graphile-worker';
import { sql } from 'slonik';
import { z } from 'zod';
import { createTestDatabase, type TestDatabase } from './helpers/database.ts';
import { testPipeline, ingest, waitForTerminal, eventTrail, type TestPipeline } from './helpers/pipeline.ts';
import { minimalPdf } from '../lib/documents/minimalPdf.ts';
import { LlamaParseEmulator } from '../emulators/llamaparse/index.ts';
import { loadTasks } from '../tasks/index.ts';
import { HAPPY_PATH } from '../lib/jobs/stages.ts';

let db: TestDatabase;
let emulator: LlamaParseEmulator;
let pipeline: TestPipeline;
test.before(async () => {
  db = await createTestDatabase();
  emulator = new LlamaParseEmulator({ startDelayMs: 5, perPageDelayMs: 2 });
  await emulator.start();
  pipeline = testPipeline(db, {
    LLAMA_CLOUD_API_KEY: 'llx-emulator',
    LLAMA_CLOUD_BASE_URL: emulator.url,
    LLAMAPARSE_TIER: 'cost_effective',
    LLAMAPARSE_MAX_WAIT_S: '2',
    LLAMAPARSE_TIMEOUT_MS: '3000',
    TVDB_MAX_ATTEMPTS: '3',
  });
});
test.after.always(async () => {
  await pipeline?.stop();
  await emulator?.stop();
  await db?.drop();
});
test.afterEach.always(() => {
  emulator.faults = {};
});

const pdf = (tag: string, pages = 3) =>
  minimalPdf(Array.from({ length: pages }, (_, i) => [`${tag} page ${i + 1} text about ${tag}`]));
const jobRow = (id: string) =>
  db.pool.one(sql.type(
    z.object({
      llamaparse_job_id: z.string().nullable(),
      credits: z.number().nullable(),
      last_error: z.string().nullable(),
    }),
  )`
    select j.llamaparse_job_id, r.credits::int, j.last_error from jobs j left join parse_results r on r.id = j.parse_result_id where j.id = ${id}::uuid`);

const helpersFor = (attempts = 1) =>
  ({ job: { attempts, max_attempts: 3, task_identifier: 'job__parse' } }) as unknown as JobHelpers;

test.serial('a re-run of the parse task for a job that has its LlamaParse id never uploads again', async (t) => {
  // Workers are not running yet: we drive the task by hand, as a crash-restart would.
  const [result] = await ingest(pipeline.deps, [{ name: 'once.pdf', bytes: pdf('once') }], 'corr-once');
  if (!result?.ok) return t.fail();
  const { taskList: tasks } = await loadTasks(pipeline.deps);
  const uploadsBefore = emulator.stats.uploads;
  await tasks.job__parse!({ jobId: result.jobId, correlationId: 'corr-once' }, helpersFor());
  await tasks.job__parse!({ jobId: result.jobId, correlationId: 'corr-once' }, helpersFor(2));
  t.is(emulator.stats.uploads - uploadsBefore, 1);
  const { llamaparse_job_id } = await jobRow(result.jobId);
  const metadata = emulator.jobs.get(llamaparse_job_id!)!.user_metadata;
  t.deepEqual(metadata, { tvdb_job_id: result.jobId, correlation_id: 'corr-once' });
  await pipeline.start();
  const states = await waitForTerminal(db.pool, [result.jobId]);
  t.is(states[result.jobId]!.state, 'complete');
  t.is(emulator.stats.uploads - uploadsBefore, 1);
});

test.serial('polling mode: parse via LlamaParse through to complete, with the pages billed', async (t) => {
  const [result] = await ingest(pipeline.deps, [{ name: 'poll.pdf', bytes: pdf('poll', 4) }]);
  if (!result?.ok) return t.fail();
  const states = await waitForTerminal(db.pool, [result.jobId]);
  t.is(states[result.jobId]!.state, 'complete', states[result.jobId]!.last_error ?? '');
  t.deepEqual(await eventTrail(db.pool, result.jobId), [...HAPPY_PATH]);
  t.is((await jobRow(result.jobId)).credits, 4 * 3, '4 pages at 3 credits (cost_effective)');
  const pages = await db.pool.anyFirst(sql.type(z.object({ m: z.string() }))`
    select p.markdown as m from parsed_pages p join jobs j on j.parse_result_id = p.parse_result_id where j.id = ${result.jobId}::uuid order by page_number`);
  t.is(pages.length, 4);
  t.regex(pages[3]!, /poll page 4/);
});

test.serial('a LlamaParse job that ends FAILED moves to failed_parse with its message, after no retries', async (t) => {
  emulator.faults = { failJobs: { count: 1, message: 'ERROR_DURING_PROCESSING: the file is corrupted' } };
  const [result] = await ingest(pipeline.deps, [{ name: 'bad.pdf', bytes: pdf('bad') }]);
  if (!result?.ok) return t.fail();
  const states = await waitForTerminal(db.pool, [result.jobId]);
  t.is(states[result.jobId]!.state, 'failed_parse');
  t.regex(states[result.jobId]!.last_error!, /ended FAILED: ERROR_DURING_PROCESSING: the file is corrupted/);
  const retries = await db.pool.oneFirst(sql.type(z.object({ n: z.number() }))`
    select count(*)::int as n from job_events where job_id = ${result.jobId}::uuid and detail ->> 'event' = 'attempt_failed'`);
  t.is(retries, 0);
});

test.serial(
  'all pages failed: failed_parse; some pages failed: parsed, with the failed pages in the event',
  async (t) => {
    emulator.faults = { failPages: 'all' };
    const [all] = await ingest(pipeline.deps, [{ name: 'allfail.pdf', bytes: pdf('allfail', 2) }]);
    if (!all?.ok) return t.fail();
    t.is((await waitForTerminal(db.pool, [all.jobId]))[all.jobId]!.state, 'failed_parse');
    emulator.faults = { failPages: [2] };
    const [some] = await ingest(pipeline.deps, [{ name: 'partial.pdf', bytes: pdf('partial', 3) }]);
    if (!some?.ok) return t.fail();
    t.is((await waitForTerminal(db.pool, [some.jobId]))[some.jobId]!.state, 'complete');
    const detail = await db.pool.oneFirst(sql.type(z.object({ d: z.record(z.string(), z.unknown()) }))`
    select detail as d from job_events where job_id = ${some.jobId}::uuid and to_state = 'parsed'`);
    t.deepEqual(detail.failed_pages, [{ page_number: 2, error: 'PAGE_PARSING_ERROR: the page could not be parsed' }]);
    t.is(detail.pages, 2);
    t.is((await jobRow(some.jobId)).credits, 2 * 3, 'failed pages are not billed');
  },
);

test.serial('a job stuck in PENDING past the maximum wait is cancelled and resubmitted', async (t) => {
  emulator.faults = { stuckPending: { count: 1 } };
  const [result] = await ingest(pipeline.deps, [{ name: 'stuck.pdf', bytes: pdf('stuck') }]);
  if (!result?.ok) return t.fail();
  const states = await waitForTerminal(db.pool, [result.jobId], 30_000);
  t.is(states[result.jobId]!.state, 'complete');
  const note = await db.pool.one(sql.type(z.object({ d: z.record(z.string(), z.unknown()) }))`
    select detail as d from job_events where job_id = ${result.jobId}::uuid and detail ->> 'event' = 'llamaparse_timeout'`);
  const cancelled = emulator.jobs.get(note.d.llamaparse_job_id as string)!;
  t.is(cancelled.status, 'CANCELLED');
});

test.serial('429 and 5xx on upload are retried with backoff and the job completes', async (t) => {
  emulator.faults = { rateLimit: { count: 1, retryAfterS: 1 }, serverErrors: { count: 1, status: 503 } };
  const [result] = await ingest(pipeline.deps, [{ name: 'retry.pdf', bytes: pdf('retry') }]);
  if (!result?.ok) return t.fail();
  const states = await waitForTerminal(db.pool, [result.jobId], 60_000);
  t.is(states[result.jobId]!.state, 'complete');
  const notes = await db.pool.anyFirst(sql.type(z.object({ e: z.string() }))`
    select detail ->> 'error' as e from job_events where job_id = ${result.jobId}::uuid and detail ->> 'event' = 'attempt_failed' order by id`);
  t.true(notes.length >= 1);
  t.regex(notes[0]!, /HTTP (503|429)/);
});

test.serial('a 429 with Retry-After moves the next attempt to that time, keeping the attempt count', async (t) => {
  emulator.faults = { rateLimit: { count: 2, retryAfterS: 2 } };
  const started = Date.now();
  const [result] = await ingest(pipeline.deps, [{ name: 'retry-after.pdf', bytes: pdf('retryafter') }]);
  if (!result?.ok) return t.fail();
  const states = await waitForTerminal(db.pool, [result.jobId], 60_000);
  t.is(states[result.jobId]!.state, 'complete');
  const attempts = await db.pool.any(sql.type(z.object({ attempt: z.number(), wait_ms: z.number() }))`
    select (detail ->> 'attempt')::int as attempt,
           (extract(epoch from (detail ->> 'next_run_at')::timestamptz - at) * 1000)::int as wait_ms
    from job_events where job_id = ${result.jobId}::uuid and detail ->> 'event' = 'attempt_failed' order by id`);
  t.deepEqual(
    attempts.map((a) => a.attempt),
    [1, 2],
    'attempts are numbered on',
  );
  t.true(
    attempts.every((a) => a.wait_ms >= 1500 && a.wait_ms <= 2500),
    JSON.stringify(attempts),
  );
  t.true(Date.now() - started >= 4000, 'the provider was not called before its Retry-After');
});
