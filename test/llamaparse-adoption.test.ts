// An upload LlamaParse accepted whose answer never arrived (issue 15): the re-run finds that
// LlamaParse job by our job id in user_metadata and adopts it instead of uploading again; the
// ledger holds exactly what LlamaParse billed, with no estimate.
import test from 'ava';
import { sql } from 'slonik';
import { z } from 'zod';
import { ingest, llamaParseSetup, waitForTerminal } from './helpers/pipeline.ts';
import { minimalPdf } from '../lib/documents/minimalPdf.ts';

test('a lost upload answer: the re-run adopts the LlamaParse job instead of uploading again', async (t) => {
  const { db, llama, pipeline } = await llamaParseSetup(t, {
    env: { LLAMAPARSE_TIER: 'fast', LLAMAPARSE_TIMEOUT_MS: '3000' },
    emulator: { startDelayMs: 5, perPageDelayMs: 1, faults: { loseUploadAnswers: { count: 1 } } },
  });
  const bytes = minimalPdf([['lost answer page one'], ['lost answer page two'], ['lost answer page three']]);
  const [result] = await ingest(pipeline.deps, [{ name: 'lost.pdf', bytes }]);
  if (!result?.ok) return t.fail('not accepted');
  await pipeline.start();
  const jobs = await waitForTerminal(db.pool, [result.jobId], 60_000);
  t.is(jobs[result.jobId]!.state, 'complete', jobs[result.jobId]!.last_error ?? '');
  t.is(llama.stats.uploads, 1, 'uploaded once: the lost answer was not a reason to upload again');
  t.is(llama.stats.calls['GET /api/v2/parse'], 1, 'one look at the list');
  const events = await db.pool.anyFirst(sql.type(z.object({ e: z.string() }))`
    select detail ->> 'event' as e from job_events where job_id = ${result.jobId}::uuid and detail ? 'event' order by id`);
  t.true(events.includes('attempt_failed'), 'the first attempt failed without an answer');
  const adopted = await db.pool.oneFirst(sql.type(z.object({ a: z.boolean().nullable() }))`
    select bool_or((detail ->> 'adopted')::boolean) as a from job_events
    where job_id = ${result.jobId}::uuid and detail ->> 'event' = 'submitted_to_llamaparse'`);
  t.true(adopted, 'the submission note says the job was adopted');
  const ledger = await db.pool.one(sql.type(z.object({ credits: z.number(), estimated: z.boolean() }))`
    select coalesce(sum(units), 0)::int as credits, coalesce(bool_or(estimated), false) as estimated
    from cost_ledger where service = 'llamaparse'`);
  t.deepEqual(ledger, { credits: llama.stats.billedCredits, estimated: false });
  t.is(ledger.credits, 3);
  const held = await db.pool.oneFirst(sql.type(z.object({ n: z.number() }))`
    select count(*)::int as n from budget_reservations where status = 'held'`);
  t.is(held, 0, 'the reservation was settled');
});

test('an upload refused for good releases its hold at once, not at its expiry', async (t) => {
  const { db, pipeline } = await llamaParseSetup(t, {
    env: { LLAMAPARSE_TIER: 'fast', TVDB_RESERVATION_TTL_S: '3600' },
    emulator: { startDelayMs: 5, perPageDelayMs: 1, faults: { unauthorized: true } },
  });
  await db.pool.query(
    sql.unsafe`insert into budgets (scope, period, limit_micro_usd) values ('llamaparse', 'total', 100000)`,
  );
  const bytes = minimalPdf([['refused page one'], ['refused page two']]);
  const [result] = await ingest(pipeline.deps, [{ name: 'refused.pdf', bytes }]);
  if (!result?.ok) return t.fail('not accepted');
  await pipeline.start();
  const jobs = await waitForTerminal(db.pool, [result.jobId], 60_000);
  t.is(jobs[result.jobId]!.state, 'failed_parse');
  const holds = await db.pool.anyFirst(sql.type(z.object({ s: z.string() }))`
    select status as s from budget_reservations where job_id = ${result.jobId}::uuid`);
  t.deepEqual(holds, ['released']);
  const status = await db.pool.one(sql.type(z.object({ reserved: z.number(), spent: z.number() }))`
    select reserved_micro_usd::int as reserved, spent_micro_usd::int as spent from budget_status`);
  t.deepEqual(status, { reserved: 0, spent: 0 }, 'nothing held, nothing charged: LlamaParse refused the call');
});
