// pgvector's HNSW index at work on 12,000 chunks: EXPLAIN shows the index serving the query search
// runs; its results agree with the exact scan; filters leave no hole in the results, whether few
// chunks pass them (exact), many (HNSW with iterative scans) or the index scan comes back short
// (exact again). Chunks and vectors are written through lib's own writes, embedded by the local
// embedder at 64 dimensions. Skips where pgvector is not installed (the embedded PostgreSQL).
import test from 'ava';
import { createHash } from 'node:crypto';
import { sql } from 'slonik';
import { createTestDatabase, type TestDatabase } from './helpers/database.ts';
import { insertJob, legalTransitions, walkTo } from './helpers/jobs.ts';
import { PGVECTOR_ON_SERVER, pgvectorTest } from './helpers/pgvector.ts';
import { createLocalProvider } from '../lib/embed/localProvider.ts';
import { storeChunks } from '../lib/chunk/chunkRows.ts';
import { storeEmbeddings } from '../lib/embed/embeddingRows.ts';
import { reindexVectors } from '../lib/vectors/reindexVectors.ts';
import { hnswIndexName } from '../lib/vectors/hnswIndex.ts';
import { findHnswIndex } from '../lib/vectors/vectorIndexes.ts';
import { exactCandidates, hnswCandidates, hnswQuery, type VectorQuery } from '../lib/search/vectorCandidates.ts';
import { nearestContents } from '../lib/search/nearestContents.ts';
import { writtenSql } from './helpers/database.ts';
import { createDatabasePool } from '../lib/db/database.ts';

const JOBS = 12;
const SETTINGS = { efSearch: 40, exactBelow: 10_000 };
const CHUNKS_PER_JOB = 1000;
const embedder = createLocalProvider(64);
const space = { model: embedder.model, dimensions: embedder.dimensions };
let db: TestDatabase;
const jobIds: string[] = [];

// Sentences from topic vocabularies: clustered, like real text, and reproducible.
let seed = 42;
const random = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
const TOPICS = Array.from({ length: 40 }, (_, t) => Array.from({ length: 30 }, (_, w) => `t${t}word${w}`));
// Job 0 writes about a topic of its own: a query about it finds job 0's chunks first.
const OWN_TOPIC = Array.from({ length: 30 }, (_, w) => `ownword${w}`);
const sentence = (topic = TOPICS[Math.floor(random() * TOPICS.length)]!) =>
  Array.from({ length: 12 }, () => topic[Math.floor(random() * topic.length)]).join(' ');
const queryVector = async () => (await embedder.embed([sentence()])).vectors[0]!;

test.before(async () => {
  if (!PGVECTOR_ON_SERVER) return;
  db = await createTestDatabase();
  const moves = await legalTransitions(db.pool);
  for (let j = 0; j < JOBS; j++) {
    // Job 0 alone has its own correlation id; the other eleven share one.
    const job = await insertJob(db.pool, { correlationId: j === 0 ? 'corr-small' : 'corr-large' });
    await walkTo(db.pool, moves, job.id, 'complete');
    jobIds.push(job.id);
    const contents = Array.from(
      { length: CHUNKS_PER_JOB },
      (_, i) => `${sentence(j === 0 ? OWN_TOPIC : undefined)} (job ${j} chunk ${i})`,
    );
    const chunks = contents.map((content, ordinal) => ({
      ordinal,
      content,
      sha: createHash('sha256').update(content).digest('hex'),
      token_count: 20,
      overlap_chars: 0,
      page_start: 1,
      page_end: 1,
      heading_path: [],
      oversized: false,
    }));
    await storeChunks(db.pool, job.id, JSON.stringify(chunks), 'english');
    const { vectors } = await embedder.embed(contents);
    await storeEmbeddings(
      db.pool,
      space.model,
      space.dimensions,
      chunks.map((c, i) => ({ sha: c.sha, vector: vectors[i]! })),
    );
  }
  await reindexVectors(db.ownerPool, {
    build: { m: 16, efConstruction: 64, maintenanceWorkMem: '256MB' },
    configured: space,
  });
});
test.after.always(async () => {
  await db?.drop();
});

type PlanNode = { 'Node Type': string; 'Index Name'?: string; Plans?: PlanNode[] };
const nodes = (n: PlanNode): PlanNode[] => [n, ...(n.Plans ?? []).flatMap(nodes)];

pgvectorTest('EXPLAIN: the HNSW index of the space serves the query search runs, filtered or not', async (t) => {
  for (const filters of [{}, { correlationId: 'corr-large' }]) {
    const q: VectorQuery = { space, vector: await queryVector(), limit: 10, filters };
    const plan = await db.pool.transaction(async (tx) => {
      await tx.query(
        sql.unsafe`select set_config('hnsw.ef_search', '100', true), set_config('hnsw.iterative_scan', 'relaxed_order', true)`,
      );
      const text = await tx.anyFirst(sql.unsafe`explain (analyze, costs off, timing off, summary off) ${hnswQuery(q)}`);
      const json = await tx.oneFirst(sql.unsafe`explain (format json) ${hnswQuery(q)}`);
      return { text: text.join('\n'), json: (json as Array<{ Plan: PlanNode }>)[0]!.Plan };
    });
    t.log(`filters ${JSON.stringify(filters)}:\n${plan.text}`);
    const scans = nodes(plan.json).filter((n) => n['Node Type'] === 'Index Scan');
    t.true(
      scans.some((n) => n['Index Name'] === hnswIndexName(space)),
      `the plan reads ${hnswIndexName(space)}:\n${plan.text}`,
    );
    t.false(
      nodes(plan.json).some((n) => n['Node Type'] === 'Seq Scan' && plan.text.includes('Seq Scan on embeddings')),
    );
  }
});

pgvectorTest('HNSW finds what the exact scan finds (recall@10 over 20 queries)', async (t) => {
  let overlap = 0;
  for (let i = 0; i < 20; i++) {
    const q: VectorQuery = { space, vector: await queryVector(), limit: 10, filters: {} };
    const approximate = await hnswCandidates(db.pool, q, 100);
    const exact = await exactCandidates(db.pool, q, true);
    const truth = new Set(exact.map((c) => c.sha));
    overlap += approximate.filter((c) => truth.has(c.sha)).length;
    t.is(approximate.length, 10);
  }
  t.log(`recall@10: ${(overlap / 200).toFixed(3)}`);
  t.true(overlap / 200 >= 0.8, `recall@10 ${(overlap / 200).toFixed(3)}`);
});

pgvectorTest(
  'filters never leave a hole: exact below 10,000 chunks, HNSW above, exact again when HNSW comes back short',
  async (t) => {
    const vector = await queryVector();
    const all = await nearestContents(db.pool, { space, vector, limit: 10, filters: {} }, SETTINGS);
    t.is(all.method, 'hnsw', '12,000 vectors in the space: the index');
    const ofRequest = (correlationId: string) =>
      nearestContents(db.pool, { space, vector, limit: 10, filters: { correlationId } }, SETTINGS);
    const small = await ofRequest('corr-small');
    t.is(small.method, 'exact', '1,000 chunks pass: read them all');
    t.is(small.candidates.length, 10);
    const large = await ofRequest('corr-large');
    t.is(large.method, 'hnsw', '11,000 chunks pass: the index, with iterative scans');
    t.is(large.candidates.length, 10);
    // A query about job 0's topic, with job 0 filtered out, and an index scan that may visit few
    // tuples (ef_search 1, max_scan_tuples 1): what it visits is job 0's, so it comes back short,
    // and search goes exact.
    const aside = (await embedder.embed([sentence(OWN_TOPIC)])).vectors[0]!;
    await db.ownerPool.query(writtenSql(`alter database ${db.name} set hnsw.max_scan_tuples = 1`));
    const fresh = await createDatabasePool(db.url, 2); // new connections take the database's setting
    try {
      const short = await nearestContents(
        fresh,
        { space, vector: aside, limit: 10, filters: { correlationId: 'corr-large' } },
        { ...SETTINGS, efSearch: 1 },
      );
      t.is(short.method, 'exact');
      t.is(short.candidates.length, 10);
      t.deepEqual(
        short.candidates.map((c) => c.sha),
        (
          await exactCandidates(
            fresh,
            { space, vector: aside, limit: 10, filters: { correlationId: 'corr-large' } },
            true,
          )
        ).map((c) => c.sha),
      );
    } finally {
      await fresh.end();
      await db.ownerPool.query(writtenSql(`alter database ${db.name} reset hnsw.max_scan_tuples`));
    }
  },
);

pgvectorTest('wide vectors: up to 4,000 dimensions indexed as halfvec, beyond that searched exactly', async (t) => {
  const job = await insertJob(db.pool, { correlationId: 'corr-wide' });
  await walkTo(db.pool, await legalTransitions(db.pool), job.id, 'complete');
  const contents = Array.from({ length: 40 }, (_, i) => `${sentence()} wide ${i}`);
  await storeChunks(
    db.pool,
    job.id,
    JSON.stringify(
      contents.map((content, ordinal) => ({
        ...{ ordinal, content, sha: createHash('sha256').update(content).digest('hex'), token_count: 20 },
        ...{ overlap_chars: 0, page_start: 1, page_end: 1, heading_path: [], oversized: false },
      })),
    ),
    'english',
  );
  const spaces = [
    { space: { model: 'wide-model', dimensions: 2500 }, indexed: 'halfvec' },
    { space: { model: 'wider-model', dimensions: 4100 }, indexed: null },
  ];
  for (const { space: wide } of spaces) {
    const wideEmbedder = createLocalProvider(wide.dimensions);
    const { vectors } = await wideEmbedder.embed(contents);
    await storeEmbeddings(
      db.pool,
      wide.model,
      wide.dimensions,
      contents.map((c, i) => ({ sha: createHash('sha256').update(c).digest('hex'), vector: vectors[i]! })),
    );
  }
  const outcomes = await reindexVectors(db.ownerPool, {
    build: { m: 16, efConstruction: 64, maintenanceWorkMem: '64MB' },
  });
  t.deepEqual(
    outcomes.map((o) => [o.model, o.action]),
    [
      [space.model, 'kept'],
      ['wide-model', 'built'],
      ['wider-model', 'not_indexable'],
    ],
  );
  for (const { space: wide, indexed } of spaces) {
    const vector = (await createLocalProvider(wide.dimensions).embed([contents[7]!])).vectors[0]!;
    const q = { space: wide, vector, limit: 5, filters: {} };
    const found = await nearestContents(db.pool, q, { efSearch: 40, exactBelow: 0 });
    t.is(found.method, indexed ? 'hnsw' : 'exact', wide.model);
    t.is(found.candidates[0]!.sha, createHash('sha256').update(contents[7]!).digest('hex'), 'the chunk itself first');
    if (indexed) t.regex((await findHnswIndex(db.pool, wide))!.definition, /halfvec\(2500\)/);
  }
});
