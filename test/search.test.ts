// Search as a user sees it, on every path it can take: the real[] scan (embedded PostgreSQL, no
// pgvector), and, where pgvector is installed, the same checks again after `tvdb vectors reindex`
// has moved the stored vectors onto HNSW. Documents go through the real pipeline (local parser and
// embedder); a job that is not complete is set up through lib's own writes.
import test, { type ExecutionContext } from 'ava';
import { createHash } from 'node:crypto';
import { createTestDatabase, type TestDatabase } from './helpers/database.ts';
import { testPipeline, ingest, waitForTerminal, type TestPipeline } from './helpers/pipeline.ts';
import { insertJob, legalTransitions, walkTo } from './helpers/jobs.ts';
import { pgvectorTest } from './helpers/pgvector.ts';
import { minimalPdf, wrap } from '../lib/documents/minimalPdf.ts';
import { search, searchDeps, type SearchDeps, type SearchRequest } from '../lib/search/search.ts';
import { storeChunks } from '../lib/chunk/chunkRows.ts';
import { storeEmbeddings } from '../lib/embed/embeddingRows.ts';
import { reindexVectors } from '../lib/vectors/reindexVectors.ts';
import { vectorsStatus } from '../lib/vectors/vectorsStatus.ts';

let db: TestDatabase;
let pipeline: TestPipeline;
let deps: SearchDeps;
const jobs: Record<string, string> = {};

const section = (title: string, topic: string, words: string) =>
  `## ${title}\n\n` +
  Array.from({ length: 3 }, (_, i) => `The ${topic} note ${i}: ${words}. Keepers record ${topic} details daily.`).join(
    '\n\n',
  );

const DOCUMENTS = [
  {
    name: 'coast/lighthouse.md',
    correlation: 'corr-coast',
    bytes: Buffer.from(
      `# Lighthouse keeping\n\n${section('Lamps', 'lamp', 'the fresnel lens focuses the lamp beam across the harbour')}\n\n` +
        section('Fog signals', 'fog', 'the fog horn sounds every thirty seconds in thick weather'),
    ),
  },
  {
    name: 'farm/beekeeping.md',
    correlation: 'corr-farm',
    bytes: Buffer.from(
      `# Beekeeping\n\n${section('Hives', 'hive', 'wooden frames hold the comb inside each hive box')}\n\n` +
        section('Honey harvest', 'honey', 'the extractor spins honey out of capped comb in late summer'),
    ),
  },
  {
    name: 'geo/field-report.pdf',
    correlation: 'corr-geo',
    bytes: minimalPdf([
      wrap(
        'Glacier survey. The glacier retreated forty metres this year. Crevasses opened along the moraine and meltwater pooled in the valley below. ' +
          'Ice cores were drilled at three camps; the snow line rose by a hundred metres. The survey team measured ablation stakes every week and mapped the terminus by drone.',
      ),
      wrap(
        'Volcano survey. Molten lava flowed from the eruption vent for six days. Basalt cooled into black rock near the crater rim. ' +
          'Ash fell on the villages to the east; sulphur dioxide readings peaked on the third day. The team sampled tephra layers and logged tremor on four seismometers.',
      ),
    ]),
  },
  {
    name: 'farm/orchard.txt',
    correlation: 'corr-farm',
    bytes: Buffer.from(
      'Orchard notes. Apple trees are pruned in winter; grafting joins a scion to the rootstock for new varieties.',
    ),
  },
];

test.before(async () => {
  db = await createTestDatabase({ poolSize: 6 });
  pipeline = testPipeline(db, { CHUNK_TARGET_TOKENS: '70', CHUNK_OVERLAP_TOKENS: '0' });
  await pipeline.start();
  for (const d of DOCUMENTS) {
    const [r] = await ingest(pipeline.deps, [d], d.correlation);
    if (!r?.ok) throw new Error(`intake refused ${d.name}`);
    jobs[d.name] = r.jobId;
  }
  const states = await waitForTerminal(db.pool, Object.values(jobs));
  for (const s of Object.values(states)) if (s.state !== 'complete') throw new Error(`${s.file_name}: ${s.state}`);
  deps = searchDeps(pipeline.deps.config, db.pool, pipeline.deps.log);
});
test.after.always(async () => {
  await pipeline?.stop();
  await db?.drop();
});

let searching = () => deps;
const run = (query: string, options: Partial<SearchRequest> = {}) =>
  search(searching(), { query, k: 5, mode: 'hybrid', filters: {}, ...options });

/** Everything a user relies on, whichever way the vectors are read. */
async function searchBehaves(t: ExecutionContext, vectorPath: 'hnsw' | 'exact') {
  for (const mode of ['vector', 'text', 'hybrid'] as const) {
    const fog = await run('fog horn sounds in thick weather', { mode, k: 3 });
    const top = fog.results[0]!;
    t.is(top.file_name, 'coast/lighthouse.md', `${mode}: the fog section comes first`);
    t.deepEqual(top.heading_path, ['Lighthouse keeping', 'Fog signals'], mode);
    t.is(top.job_id, jobs['coast/lighthouse.md']);
    t.is(top.correlation_id, 'corr-coast');
    t.true(fog.results.length <= 3, `${mode}: k is respected`);
    t.deepEqual(
      fog.results.map((r) => r.rank),
      fog.results.map((_, i) => i + 1),
    );
    t.true(
      fog.results.every((r, i) => i === 0 || fog.results[i - 1]!.score >= r.score),
      `${mode}: best first`,
    );
    const lava = await run('molten lava from the eruption vent', { mode, k: 3 });
    t.is(lava.results[0]!.file_name, 'geo/field-report.pdf', mode);
    t.deepEqual([lava.results[0]!.page_start, lava.results[0]!.page_end], [2, 2], `${mode}: the page is known`);
    t.is(fog.vector_search, mode === 'text' ? null : mode === 'vector' ? vectorPath : fog.vector_search);
  }
  // Which score each mode shows: vector similarity, text rank, both for hybrid.
  const vector = await run('honey extractor spins capped comb', { mode: 'vector', k: 2 });
  t.true(vector.results.every((r) => r.vector_score === r.score && r.text_score === null));
  t.is(vector.vector_search, vectorPath, 'the vector path the test expects');
  const hybrid = await run('honey extractor spins capped comb', { k: 2 });
  t.is(hybrid.results[0]!.score, 1, 'first in both lists: the fused score is 1');
  t.true(hybrid.results[0]!.vector_score! > 0 && hybrid.results[0]!.text_score! > 0);

  // Filters: file name (exact, last segment, glob, whole path), job ids, correlation id.
  const files = async (filters: SearchRequest['filters'], mode: SearchRequest['mode'] = 'hybrid') =>
    [
      ...new Set(
        (await run('notes record details daily survey', { k: 50, filters, mode })).results.map((r) => r.file_name),
      ),
    ].sort();
  t.deepEqual(await files({ fileName: 'beekeeping.md' }), ['farm/beekeeping.md']);
  t.deepEqual(await files({ fileName: 'farm/*' }, 'vector'), ['farm/beekeeping.md', 'farm/orchard.txt']);
  t.deepEqual(await files({ fileName: '*.pdf' }, 'text'), ['geo/field-report.pdf']);
  t.deepEqual(await files({ fileName: 'lighthouse' }), [], 'no wildcard: the whole segment must match');
  t.deepEqual(await files({ jobIds: [jobs['farm/orchard.txt']!, jobs['coast/lighthouse.md']!] }, 'vector'), [
    'coast/lighthouse.md',
    'farm/orchard.txt',
  ]);
  t.deepEqual(await files({ correlationId: 'corr-farm' }), ['farm/beekeeping.md', 'farm/orchard.txt']);
  t.deepEqual(await files({ correlationId: 'corr-farm', fileName: '*.txt' }), ['farm/orchard.txt']);

  // A minimum score drops what scores below it, in every mode.
  for (const mode of ['vector', 'text', 'hybrid'] as const) {
    const all = await run('the lamp beam: keepers record details daily', { mode, k: 20 });
    const cut = all.results[1]!.score;
    const kept = await run('the lamp beam: keepers record details daily', { mode, k: 20, minScore: cut });
    t.true(kept.results.length >= 2 && kept.results.length < all.results.length, mode);
    t.true(
      kept.results.every((r) => r.score >= cut),
      mode,
    );
  }
}

test.serial('a job that is not complete is never found, even with a vector and a tsvector', async (t) => {
  const job = await insertJob(db.pool, { correlationId: 'corr-unfinished' });
  await walkTo(db.pool, await legalTransitions(db.pool), job.id, 'embeddings_stored');
  const content = 'Zebra crossings: an unfinished zebra document about zebra stripes.';
  const sha = createHash('sha256').update(content).digest();
  const row = { ordinal: 0, content, sha: sha.toString('hex'), token_count: 12, overlap_chars: 0, page_start: 1 };
  await storeChunks(
    db.pool,
    job.id,
    JSON.stringify([{ ...row, page_end: 1, heading_path: [], oversized: false }]),
    'english',
  );
  const { vectors } = await pipeline.deps.embedder.embed([content]);
  await storeEmbeddings(db.pool, deps.embedder.model, deps.embedder.dimensions, [
    { sha: sha.toString('hex'), vector: vectors[0]! },
  ]);
  for (const mode of ['vector', 'text', 'hybrid'] as const) {
    const found = await run('zebra stripes', { mode, k: 20 });
    t.false(
      found.results.some((r) => r.job_id === job.id),
      mode,
    );
  }
});

test.serial('identical text in two documents is one hit, shown from the newest document', async (t) => {
  const bytes = DOCUMENTS[3]!.bytes;
  const [again] = await ingest(pipeline.deps, [{ name: 'copies/orchard-copy.txt', bytes }], 'corr-copy');
  if (!again?.ok) return t.fail();
  await waitForTerminal(db.pool, [again.jobId]);
  const found = await run('grafting a scion to the rootstock', { k: 5 });
  const orchard = found.results.filter((r) => r.content.includes('rootstock'));
  t.is(orchard.length, 1);
  t.is(orchard[0]!.file_name, 'copies/orchard-copy.txt');
  const older = await run('grafting a scion to the rootstock', { k: 5, filters: { fileName: 'orchard.txt' } });
  t.is(older.results[0]!.file_name, 'farm/orchard.txt', 'a filter shows the copy it selects');
});

test.serial('search on the real[] path (no HNSW index): ranks, pages, headings, filters, scores', async (t) => {
  t.false((await vectorsStatus(db.pool)).spaces.some((s) => s.search === 'hnsw'));
  await searchBehaves(t, 'exact');
});

test.serial('a query with no searchable words finds nothing instead of anything', async (t) => {
  const found = await run('?!', { k: 5 });
  t.deepEqual(found.results, []);
});

pgvectorTest('after tvdb vectors reindex the same searches go through HNSW and find the same', async (t) => {
  const before = await run('fog horn sounds in thick weather', { mode: 'vector', k: 3 });
  const refused = await t.throwsAsync(
    reindexVectors(db.pool, { build: { m: 16, efConstruction: 64, maintenanceWorkMem: '64MB' } }),
  );
  t.regex(refused!.message, /superuser/, 'the application role may not create the extension, and is told who may');
  const outcomes = await reindexVectors(db.ownerPool, {
    build: { m: 16, efConstruction: 64, maintenanceWorkMem: '64MB' },
    configured: { model: deps.embedder.model, dimensions: deps.embedder.dimensions },
  });
  t.deepEqual(
    outcomes.map((o) => [o.model, o.action]),
    [[deps.embedder.model, 'built']],
  );
  const small = await run('fog horn sounds in thick weather', { mode: 'vector', k: 3 });
  t.is(small.vector_search, 'exact', 'a space this small is read whole (TVDB_SEARCH_EXACT_BELOW)');
  searching = () => ({ ...deps, exactBelow: 0 });
  const after = await run('fog horn sounds in thick weather', { mode: 'vector', k: 3 });
  t.is(after.vector_search, 'hnsw');
  t.deepEqual(
    after.results.map((r) => [r.job_id, r.content, r.score.toFixed(5)]),
    before.results.map((r) => [r.job_id, r.content, r.score.toFixed(5)]),
    'no re-embedding: the index holds the stored vectors, the scores are the same',
  );
  await searchBehaves(t, 'hnsw');
  const again = await reindexVectors(db.ownerPool, {
    build: { m: 16, efConstruction: 64, maintenanceWorkMem: '64MB' },
  });
  t.deepEqual(
    again.map((o) => o.action),
    ['kept'],
    'running it again changes nothing',
  );
});
