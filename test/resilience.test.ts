// Circuit breakers and rate limits shared through Postgres, against the LlamaParse emulator's
// fault modes.
import test from 'ava';
import { sql } from 'slonik';
import { z } from 'zod';
import { createTestDatabase } from './helpers/database.ts';
import { testPipeline, ingest, waitForTerminal, llamaParseSetup } from './helpers/pipeline.ts';
import { minimalPdf } from '../lib/documents/minimalPdf.ts';
import { LlamaParseEmulator } from '../emulators/llamaparse/index.ts';

const pdf = (tag: string) => minimalPdf([[`${tag} page one`], [`${tag} page two`]]);

test('a 5xx burst opens the breaker; while open the service sees no calls; then it closes and every job completes', async (t) => {
  const { db, llama, pipeline } = await llamaParseSetup(t, {
    env: { BREAKER_FAILURE_THRESHOLD: '3', BREAKER_COOLDOWN_S: '3', TVDB_MAX_ATTEMPTS: '25' },
    emulator: { startDelayMs: 5, perPageDelayMs: 1, faults: { serverErrors: { count: 1000, status: 503 } } },
    poolSize: 6,
  });
  const results = await ingest(
    pipeline.deps,
    ['a', 'b', 'c', 'd'].map((x) => ({ name: `${x}.pdf`, bytes: pdf(x) })),
  );
  await pipeline.start();
  const breaker = () =>
    db.pool.oneFirst(
      sql.type(z.object({ s: z.string() }))`select state as s from circuit_breakers where service = 'llamaparse'`,
    );
  for (let i = 0; i < 200 && (await breaker()) !== 'open'; i++) await new Promise((r) => setTimeout(r, 50));
  t.is(await breaker(), 'open');
  // The breaker's own history says when it was open: from the first closed->open to the first
  // open->half_open (the first probe). Calls admitted while it was still closed may land just
  // after it opened; none may arrive later in that window.
  let window: { opened: number; probing: number } | undefined;
  for (let i = 0; i < 200 && !window; i++) {
    const events = await db.pool.any(sql.type(z.object({ t: z.string(), at: z.number() }))`
      select from_state || '->' || to_state as t, at from circuit_breaker_events where service = 'llamaparse' order by id`);
    const opened = events.find((e) => e.t === 'closed->open')?.at;
    const probing = events.find((e) => e.t === 'open->half_open')?.at;
    if (opened && probing) window = { opened, probing };
    else await new Promise((r) => setTimeout(r, 100));
  }
  if (!window) return t.fail('the breaker never went half-open');
  const inWindow = llama.callTimes.filter((at) => at > window!.opened && at < window!.probing - 50);
  const late = inWindow.filter((at) => at > window!.opened + 1000);
  t.is(late.length, 0, `no call reached the service while the breaker was open (after in-flight ones): ${late.length}`);
  t.true(window.probing - window.opened >= 2900, 'it stayed open for the cool-down');
  t.log(
    `calls while the breaker was open: ${inWindow.length} (all admitted before it opened); ${late.length} later; open for ${window.probing - window.opened} ms`,
  );
  llama.faults = {}; // the service recovers
  const states = await waitForTerminal(
    db.pool,
    results.map((r) => (r.ok ? r.jobId : '')),
    90_000,
  );
  t.true(Object.values(states).every((s) => s.state === 'complete'));
  t.is(await breaker(), 'closed');
  const transitions = await db.pool.anyFirst(sql.type(z.object({ t: z.string() }))`
    select from_state || '->' || to_state as t from circuit_breaker_events where service = 'llamaparse' order by id`);
  t.deepEqual(transitions.slice(0, 2), ['closed->open', 'open->half_open']);
  t.is(transitions.at(-1), 'half_open->closed');
  const alert = await db.pool.maybeOneFirst(
    sql.type(z.object({ k: z.string() }))`select kind as k from alerts where kind = 'breaker_open' limit 1`,
  );
  t.is(alert, 'breaker_open');
  const deferred = await db.pool.oneFirst(
    sql.type(
      z.object({ n: z.number() }),
    )`select count(*)::int as n from job_events where detail ->> 'event' = 'breaker_open'`,
  );
  t.true(deferred > 0, 'jobs were deferred while open');
});

test('permanent errors never open the breaker', async (t) => {
  const { db, llama, pipeline } = await llamaParseSetup(t, {
    env: { BREAKER_FAILURE_THRESHOLD: '2' },
    emulator: { startDelayMs: 5, perPageDelayMs: 1, faults: { unauthorized: true } },
  });
  const results = await ingest(
    pipeline.deps,
    ['p', 'q', 'r'].map((x) => ({ name: `${x}.pdf`, bytes: pdf(x) })),
  );
  await pipeline.start();
  const states = await waitForTerminal(
    db.pool,
    results.map((r) => (r.ok ? r.jobId : '')),
  );
  t.true(Object.values(states).every((s) => s.state === 'failed_parse' && /401/.test(s.last_error ?? '')));
  const state = await db.pool.oneFirst(
    sql.type(z.object({ s: z.string() }))`select state as s from circuit_breakers where service = 'llamaparse'`,
  );
  t.is(state, 'closed');
});

test('uploads stay within the shared rate limit; a burst above it is absorbed and no job fails', async (t) => {
  const db = await createTestDatabase({ poolSize: 6 });
  const llama = new LlamaParseEmulator({ startDelayMs: 5, perPageDelayMs: 1 });
  await llama.start();
  // 3 uploads per 10 s: a burst of 3, then one every 3.3 s.
  const pipeline = testPipeline(db, {
    LLAMA_CLOUD_API_KEY: 'llx-emulator',
    LLAMA_CLOUD_BASE_URL: llama.url,
    LLAMAPARSE_UPLOADS_PER_10S: '3',
  });
  t.teardown(async () => {
    await pipeline.stop();
    await llama.stop();
    await db.drop();
  });
  const results = await ingest(
    pipeline.deps,
    Array.from({ length: 6 }, (_, i) => ({ name: `r${i}.pdf`, bytes: pdf(`rate${i}`) })),
  );
  await pipeline.start();
  const states = await waitForTerminal(
    db.pool,
    results.map((r) => (r.ok ? r.jobId : '')),
    60_000,
  );
  t.true(Object.values(states).every((s) => s.state === 'complete'));
  const times = [...llama.uploadTimes].sort((a, b) => a - b);
  t.is(times.length, 6);
  for (let i = 0; i < times.length; i++) {
    const inWindow = times.filter((x) => x >= times[i]! && x < times[i]! + 3000).length;
    t.true(inWindow <= 3 + 1, `at most the burst (+1 refilled) within 3 s: ${inWindow}`);
  }
  t.true(
    times.at(-1)! - times[0]! >= 9000,
    `6 uploads at 3 per 10 s take at least 9 s (${times.at(-1)! - times[0]!} ms)`,
  );
});

test('after the last attempt of a stage (its own limit) the job moves to its failed state with the last error', async (t) => {
  const { EmbeddingEmulator } = await import('../emulators/embeddings.ts');
  const db = await createTestDatabase();
  const embeddings = new EmbeddingEmulator({ faults: { serverErrors: { count: 1000, status: 500 } } });
  await embeddings.start();
  const pipeline = testPipeline(db, {
    EMBEDDINGS_PROVIDER: 'openai',
    EMBEDDINGS_API_KEY: 'sk-emulator',
    EMBEDDINGS_BASE_URL: embeddings.url,
    EMBEDDINGS_DIMENSIONS: '16',
    TVDB_MAX_ATTEMPTS: '8',
    TVDB_MAX_ATTEMPTS_EMBED: '2',
    BREAKER_FAILURE_THRESHOLD: '50',
  });
  t.teardown(async () => {
    await pipeline.stop();
    await embeddings.stop();
    await db.drop();
  });
  const [result] = await ingest(pipeline.deps, [
    { name: 'giveup.md', bytes: Buffer.from('# Give up\n\nA document the embedder never accepts.') },
  ]);
  if (!result?.ok) return t.fail();
  await pipeline.start();
  const states = await waitForTerminal(db.pool, [result.jobId], 30_000);
  t.is(states[result.jobId]!.state, 'failed_embedding');
  t.regex(states[result.jobId]!.last_error ?? '', /gave up after 2 attempts: embeddings: HTTP 500/);
  const attempts = await db.pool.anyFirst(sql.type(z.object({ a: z.number() }))`
    select (detail ->> 'attempt')::int as a from job_events where job_id = ${result.jobId}::uuid and detail ->> 'event' = 'attempt_failed'`);
  t.deepEqual(attempts, [1], 'one retried attempt recorded, then the second and last one failed the job');
});

test('with webhooks configured but lost, the reconciliation poll still completes the job', async (t) => {
  const { db, llama, pipeline } = await llamaParseSetup(t, {
    env: { PUBLIC_BASE_URL: 'http://127.0.0.1:9/unreachable', LLAMAPARSE_RECONCILE_AFTER_S: '1' },
    emulator: { startDelayMs: 5, perPageDelayMs: 1, faults: { webhooks: { drop: true } } },
  });
  const [result] = await ingest(pipeline.deps, [{ name: 'lost-webhook.pdf', bytes: pdf('lostwebhook') }]);
  if (!result?.ok) return t.fail();
  await pipeline.start();
  const states = await waitForTerminal(db.pool, [result.jobId], 30_000);
  t.is(states[result.jobId]!.state, 'complete');
  const mode = await db.pool.oneFirst(sql.type(z.object({ m: z.string() }))`
    select detail ->> 'mode' as m from job_events where job_id = ${result.jobId}::uuid and detail ->> 'event' = 'submitted_to_llamaparse'`);
  t.is(mode, 'webhook');
  t.is(llama.stats.webhookDeliveries, 0, 'no webhook arrived');
});
