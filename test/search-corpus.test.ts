// Known queries on the shared corpus (../shared/corpus): questions written from each document's
// text before any search ran (test/fixtures/known-queries.json), asked in the three modes. Hybrid
// search must find the right document at least as often as vector or full-text search alone, at
// rank 1 and in the top 3. At this size (3,300 chunks, under TVDB_SEARCH_EXACT_BELOW) vectors are
// read exactly with or without pgvector; the HNSW path has its own tests (search-hnsw.test.ts).
// The three largest documents (619-page PDF, 872-page handbook, 2.4 MB 10-K) are left out to keep
// the ingest under a minute; War and Peace (2,000 chunks) stays as the haystack.
import test from 'ava';
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { CORPUS_DIR, CORPUS_MISSING, HAS_CORPUS, corpusFile, corpusTest } from './helpers/corpus.ts';
import { createTestDatabase, type TestDatabase } from './helpers/database.ts';
import { testPipeline, ingest, waitForTerminal, type TestPipeline } from './helpers/pipeline.ts';
import { search, searchDeps, SEARCH_MODES } from '../lib/search/search.ts';

const LEFT_OUT = ['DA-619p.pdf', 'handbook-872p.docx', 'example-10k.html'];
const { queries } = JSON.parse(readFileSync(new URL('fixtures/known-queries.json', import.meta.url), 'utf8')) as {
  queries: Array<{ query: string; expect: string[] }>;
};

let db: TestDatabase;
let pipeline: TestPipeline;

test.before(async () => {
  if (!HAS_CORPUS) return;
  db = await createTestDatabase();
  pipeline = testPipeline(db);
  await pipeline.start();
  const files = ['pdf', 'docx', 'html', 'text'].flatMap((dir) =>
    readdirSync(path.join(CORPUS_DIR, dir))
      .filter((f) => !LEFT_OUT.includes(f))
      .map((f) => `${dir}/${f}`),
  );
  const results = await ingest(
    pipeline.deps,
    files.map((f) => ({ name: f, bytes: corpusFile(f) })),
  );
  await waitForTerminal(
    db.pool,
    results.flatMap((r) => (r.ok ? [r.jobId] : [])),
    150_000,
  );
});
test.after.always(async () => {
  await pipeline?.stop();
  await db?.drop();
});

corpusTest.serial(
  'known queries: hybrid finds the right document at least as often as vector or text search alone',
  async (t) => {
    const deps = searchDeps(pipeline.deps.config, db.pool, pipeline.deps.log);
    const found = Object.fromEntries(SEARCH_MODES.map((m) => [m, { first: 0, top3: 0 }]));
    const lines: string[] = [];
    for (const { query, expect } of queries) {
      const marks: string[] = [];
      for (const mode of SEARCH_MODES) {
        const response = await search(deps, { query, k: 3, mode, filters: {} });
        const names = response.results.map((r) => r.file_name.replace(/^.*\//, ''));
        const first = expect.includes(names[0] ?? '');
        const top3 = names.some((n) => expect.includes(n));
        found[mode]!.first += Number(first);
        found[mode]!.top3 += Number(top3);
        marks.push(`${mode} ${first ? '1' : top3 ? '3' : '-'}`);
      }
      lines.push(`${marks.join('  ')}  ${query}`);
    }
    t.log(`right document at rank 1 / in the top 3, of ${queries.length} queries: ${JSON.stringify(found)}`);
    t.log(lines.join('\n'));
    for (const alone of ['vector', 'text'])
      for (const at of ['first', 'top3'] as const)
        t.true(
          found.hybrid![at] >= found[alone]![at],
          `hybrid ${at} ${found.hybrid![at]} < ${alone} ${found[alone]![at]}`,
        );
  },
);
