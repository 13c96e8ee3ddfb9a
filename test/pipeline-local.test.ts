import test from 'ava';
import { sql } from 'slonik';
import { z } from 'zod';
import { createTestDatabase, type TestDatabase } from './helpers/database.ts';
import { testPipeline, ingest, waitForTerminal, eventTrail, type TestPipeline } from './helpers/pipeline.ts';
import { minimalPdf, wrap } from '../lib/documents/minimalPdf.ts';
import { search, searchDeps } from '../lib/search/search.ts';
import { HAPPY_PATH } from '../lib/jobs/stages.ts';

let db: TestDatabase;
let pipeline: TestPipeline;
test.before(async () => {
  db = await createTestDatabase();
  pipeline = testPipeline(db, { CHUNK_TARGET_TOKENS: '120', CHUNK_OVERLAP_TOKENS: '16' });
  await pipeline.start();
});
test.after.always(async () => {
  await pipeline?.stop();
  await db?.drop();
});

const prose = (topic: string, n: number) =>
  Array.from(
    { length: n },
    (_, i) =>
      `Paragraph ${i} about ${topic}: the ${topic} system stores ${topic} records and reports on ${topic} health.`,
  ).join('\n\n');

test.serial(
  'documents of every local type go from uploaded to complete along the seed path, and search finds them',
  async (t) => {
    const files = [
      { name: 'notes.md', bytes: Buffer.from(`# Lighthouse keeping\n\n${prose('lighthouse', 12)}`) },
      {
        name: 'page.html',
        bytes: Buffer.from(`<html><body><h1>Beekeeping</h1><p>${prose('beehive', 8)}</p></body></html>`),
      },
      { name: 'report.pdf', bytes: minimalPdf([wrap(prose('volcano', 3)), wrap(prose('glacier', 3))]) },
      { name: 'plain.txt', bytes: Buffer.from(prose('orchard', 10)) },
    ];
    const results = await ingest(pipeline.deps, files, 'corr-local-e2e');
    const ids = results.map((r) => (r.ok ? r.jobId : t.fail(String(r))) as string);
    const states = await waitForTerminal(db.pool, ids);
    for (const id of ids) {
      t.is(states[id]!.state, 'complete', `${states[id]!.file_name}: ${states[id]!.last_error}`);
      t.deepEqual(await eventTrail(db.pool, id), [...HAPPY_PATH]);
    }
    const pdfPages = await db.pool.anyFirst(sql.type(z.object({ p: z.number() }))`
    select distinct page_start as p from chunks where job_id = ${ids[2]!}::uuid order by 1`);
    t.deepEqual(pdfPages, [1, 2], 'PDF chunks keep their page numbers');
    const { results: hits } = await search(searchDeps(pipeline.deps.config, db.pool, pipeline.deps.log), {
      query: 'glacier records health',
      k: 3,
      mode: 'vector',
      filters: {},
    });
    t.is(hits[0]!.file_name, 'report.pdf');
    t.is(hits[0]!.page_start, 2);
  },
);

test.serial('the correlation id is on every event and every log line of the job', async (t) => {
  const [result] = await ingest(
    pipeline.deps,
    [{ name: 'corr.md', bytes: Buffer.from(`# Corr\n\n${prose('kestrel', 6)}`) }],
    'corr-trace-1',
  );
  if (!result?.ok) return t.fail();
  await waitForTerminal(db.pool, [result.jobId]);
  const correlations = await db.pool.anyFirst(sql.type(z.object({ c: z.string() }))`
    select distinct correlation_id as c from job_events where job_id = ${result.jobId}::uuid`);
  t.deepEqual(correlations, ['corr-trace-1']);
  const lines = pipeline.logs.filter((l) => l.job_id === result.jobId);
  t.true(lines.length >= 3, 'parse, chunk and embed each logged');
  t.true(lines.every((l) => l.correlation_id === 'corr-trace-1' && typeof l.stage === 'string'));
  t.deepEqual([...new Set(lines.map((l) => l.stage))].sort(), ['chunk', 'embed', 'parse']);
});

test.serial('a permanent parse failure ends in failed_parse at once, with the reason, after one attempt', async (t) => {
  const corrupt = minimalPdf([['fine']]).subarray(0, 200); // a PDF cut short
  const [result] = await ingest(pipeline.deps, [{ name: 'broken.pdf', bytes: corrupt }]);
  if (!result?.ok) return t.fail();
  const states = await waitForTerminal(db.pool, [result.jobId]);
  t.is(states[result.jobId]!.state, 'failed_parse');
  t.regex(states[result.jobId]!.last_error ?? '', /corrupt or unreadable PDF/);
  const attempts = await db.pool.oneFirst(sql.type(z.object({ n: z.number() }))`
    select count(*)::int as n from job_events where job_id = ${result.jobId}::uuid and detail ->> 'event' = 'attempt_failed'`);
  t.is(attempts, 0, 'no retries');
});

test.serial('re-ingesting unchanged documents reuses the parse, the chunks and the vectors', async (t) => {
  const bytes = Buffer.from(`# Reuse\n\n${prose('tidepool', 20)}`);
  const [first] = await ingest(pipeline.deps, [{ name: 'reuse.md', bytes }]);
  if (!first?.ok) return t.fail();
  await waitForTerminal(db.pool, [first.jobId]);
  const [second] = await ingest(pipeline.deps, [{ name: 'reuse-again.md', bytes }]);
  if (!second?.ok) return t.fail();
  const states = await waitForTerminal(db.pool, [second.jobId]);
  t.is(states[second.jobId]!.state, 'complete');
  const details = await db.pool.any(sql.type(
    z.object({ to_state: z.string(), detail: z.record(z.string(), z.unknown()) }),
  )`
    select to_state::text, detail from job_events where job_id = ${second.jobId}::uuid and kind = 'transition'`);
  const by = Object.fromEntries(details.map((d) => [d.to_state, d.detail]));
  t.truthy(by.parsed!.reused_parse_result);
  t.is(by.chunks_stored!.reused_chunks_of, first.jobId);
  t.is(by.embeddings_stored!.embedded, 0);
  t.true((by.embeddings_stored!.reused as number) > 0);
  const parseResults = await db.pool.oneFirst(sql.type(z.object({ n: z.number() }))`
    select count(*)::int as n from parse_results where document_id = ${first.documentId}`);
  t.is(parseResults, 1);
});

test.serial('tvdb retry sends a failed job back through its stage', async (t) => {
  const { retryJob } = await import('../lib/jobs/retryJob.ts');
  const [result] = await ingest(pipeline.deps, [{ name: 'scan.pdf', bytes: minimalPdf([[''], ['']]) }]);
  if (!result?.ok) return t.fail();
  await waitForTerminal(db.pool, [result.jobId]);
  const outcome = await retryJob(db.pool, result.jobId, () => 3);
  t.deepEqual(outcome, { jobId: result.jobId, from: 'failed_parse', to: 'parse_queued' });
  const states = await waitForTerminal(db.pool, [result.jobId]);
  t.is(states[result.jobId]!.state, 'failed_parse');
  t.deepEqual((await eventTrail(db.pool, result.jobId)).slice(-3), ['failed_parse', 'parse_queued', 'failed_parse']);
  const unknown = '00000000-0000-4000-8000-000000000000';
  t.deepEqual(await retryJob(db.pool, unknown, () => 3), { jobId: unknown, skipped: 'no such job' });
});
