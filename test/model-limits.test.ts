// Issue 23: an embedding model's limits come from the catalog its price comes from. A lower limit
// there bounds the chunks (an emulator holding that limit refuses nothing); a model without limits
// stops at the chunk stage with what to insert, before anything is paid.
import test from 'ava';
import { sql } from 'slonik';
import { z } from 'zod';
import { EmbeddingEmulator } from '../emulators/embeddings.ts';
import { createTestDatabase } from './helpers/database.ts';
import { ingest, testPipeline, waitForTerminal } from './helpers/pipeline.ts';

const prose = Array.from({ length: 60 }, (_, i) => `Sentence ${i} about tide tables and harbour lights.`).join(' ');

async function setup(t: import('ava').ExecutionContext, model: string, emulatorLimit: number) {
  const db = await createTestDatabase();
  const embeddings = new EmbeddingEmulator({ maxInputTokens: emulatorLimit });
  await embeddings.start();
  const pipeline = testPipeline(db, {
    EMBEDDINGS_PROVIDER: 'openai',
    EMBEDDINGS_API_KEY: 'sk-emulator',
    EMBEDDINGS_BASE_URL: embeddings.url,
    EMBEDDINGS_MODEL: model,
    EMBEDDINGS_DIMENSIONS: '16',
    CHUNK_TARGET_TOKENS: '512',
    CHUNK_OVERLAP_TOKENS: '64',
  });
  t.teardown(async () => {
    await pipeline.stop();
    await embeddings.stop();
    await db.drop();
  });
  return { db, embeddings, pipeline };
}

test("a model's lower input limit in price_catalog bounds every chunk", async (t) => {
  const { db, embeddings, pipeline } = await setup(t, 'text-embedding-3-small', 100);
  await db.ownerPool.query(sql.unsafe`
    insert into price_catalog (service, sku, unit, amount, effective_from, source)
    values ('embeddings', 'text-embedding-3-small', 'max_input_tokens', 100, now(), 'test: a smaller model')`);
  const [result] = await ingest(pipeline.deps, [{ name: 'tides.md', bytes: Buffer.from(`# Tides\n\n${prose}`) }]);
  await pipeline.start();
  const id = result!.ok ? result!.jobId : '';
  const states = await waitForTerminal(db.pool, [id], 60_000);
  t.is(states[id]!.state, 'complete', states[id]!.last_error ?? '');
  const largest = await db.pool.oneFirst(sql.type(z.object({ n: z.number() }))`
    select max(token_count)::int as n from chunks where job_id = ${id}::uuid`);
  t.true(largest <= 100, `largest chunk ${largest}`);
  t.is(embeddings.stats.rejected, 0);
});

test('a model with no limits in the catalog stops at the chunk stage and says what to insert', async (t) => {
  const { db, embeddings, pipeline } = await setup(t, 'unknown-embedder-v9', 8192);
  const [result] = await ingest(pipeline.deps, [{ name: 'tides.md', bytes: Buffer.from(`# Tides\n\n${prose}`) }]);
  await pipeline.start();
  const id = result!.ok ? result!.jobId : '';
  const states = await waitForTerminal(db.pool, [id], 60_000);
  t.is(states[id]!.state, 'failed_chunking');
  t.regex(states[id]!.last_error ?? '', /no limits for embedding model "unknown-embedder-v9".*max_input_tokens/);
  t.is(embeddings.stats.requests, 0, 'nothing sent, nothing billed');
});
