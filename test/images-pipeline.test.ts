// Issue 23 end to end: documents with pictures (DOCX with PNG/JPEG/EMF, HTML with data: URIs and
// inline SVG, Markdown with base64 links, a long text with no space) go through the real pipeline to
// an embeddings emulator that refuses what OpenAI refuses: they complete, no chunk holds image
// bytes or exceeds the model's limit, and the job says what was left out.
import test from 'ava';
import { sql } from 'slonik';
import { z } from 'zod';
import { EmbeddingEmulator } from '../emulators/embeddings.ts';
import { LlamaParseEmulator } from '../emulators/llamaparse/index.ts';
import { pointAt } from '../emulators/pointAt.ts';
import { createTestDatabase } from './helpers/database.ts';
import { ingest, testPipeline, waitForTerminal } from './helpers/pipeline.ts';
import { docxWithPictures, htmlWithImages, looksLikeImageBytes, markdownWithImages } from './helpers/imageDocuments.ts';
import type { DatabasePool } from 'slonik';
import { cleanEnv, runTvdb } from './helpers/cli.ts';
import { CORPUS_MISSING, HAS_CORPUS, corpusFile, corpusTest } from './helpers/corpus.ts';

const Chunk = z.object({ content: z.string(), token_count: z.number(), oversized: z.boolean() });
const chunksOf = (pool: DatabasePool, id: string) =>
  pool.any(
    sql.type(Chunk)`select content, token_count, oversized from chunks where job_id = ${id}::uuid order by ordinal`,
  );
const chunkEvent = (pool: DatabasePool, id: string) =>
  pool.one(sql.type(z.object({ detail: z.record(z.string(), z.unknown()) }))`
    select detail from job_events where job_id = ${id}::uuid and detail ? 'tokens_before_cleanup'`);
const leftOutNote = (pool: DatabasePool, id: string) =>
  pool.maybeOne(sql.type(z.object({ detail: z.record(z.string(), z.unknown()) }))`
    select detail from job_events where job_id = ${id}::uuid and kind = 'note' and detail ->> 'event' = 'text_left_out'`);

// A text with no space at all, ~30,000 tokens: only a split by tokens fits it in 8,192.
const noSpace = () =>
  Buffer.from(
    `# 港口报告\n\n${Array.from({ length: 12_000 }, (_, i) => String.fromCodePoint(0x4e00 + ((i * 7919) % 20_000))).join('')}`,
  );

async function setup(t: import('ava').ExecutionContext, viaLlamaParse: boolean) {
  const db = await createTestDatabase();
  const llama = new LlamaParseEmulator({ startDelayMs: 5, perPageDelayMs: 1 });
  const embeddings = new EmbeddingEmulator();
  await Promise.all([llama.start(), embeddings.start()]);
  const env = pointAt({ llamaparse: llama, embeddings }, 32);
  if (!viaLlamaParse) delete env.LLAMA_CLOUD_API_KEY;
  // A chunk target over the model's limit: the catalog's 8,192 tokens per input still bounds chunks.
  const pipeline = testPipeline(db, { ...env, CHUNK_TARGET_TOKENS: '20000', CHUNK_OVERLAP_TOKENS: '64' });
  t.teardown(async () => {
    await pipeline.stop();
    await Promise.all([llama.stop(), embeddings.stop()]);
    await db.drop();
  });
  await pipeline.start();
  return { db, embeddings, pipeline };
}

for (const viaLlamaParse of [false, true])
  test(`documents with pictures complete on the emulators with their limits on (${viaLlamaParse ? 'LlamaParse' : 'local parser'})`, async (t) => {
    const { db, embeddings, pipeline } = await setup(t, viaLlamaParse);
    const files = [
      { name: 'harbour.docx', bytes: docxWithPictures() },
      { name: 'orchard.html', bytes: htmlWithImages() },
      { name: 'beehive.md', bytes: markdownWithImages() },
      { name: 'no-space.md', bytes: noSpace() },
    ];
    const results = await ingest(pipeline.deps, files);
    const ids = results.map((r) => (r.ok ? r.jobId : ''));
    const states = await waitForTerminal(db.pool, ids, 120_000);
    for (const [i, id] of ids.entries()) {
      t.is(states[id]!.state, 'complete', `${files[i]!.name}: ${states[id]!.last_error}`);
      const chunks = await chunksOf(db.pool, id);
      t.true(chunks.length > 0);
      for (const c of chunks) {
        t.false(looksLikeImageBytes(c.content), `${files[i]!.name}: a chunk holds image bytes`);
        t.true(c.token_count <= 8192 && !c.oversized, `${files[i]!.name}: a chunk of ${c.token_count} tokens`);
      }
    }
    t.is(embeddings.stats.rejected, 0, 'the emulator refused nothing');
    const text = async (id: string) => (await chunksOf(db.pool, id)).map((c) => c.content).join('\n');
    const docx = await text(ids[0]!);
    t.true(docx.includes('![A chart of monthly tides](image 1)'), docx);
    t.true(docx.includes('![Photograph of the lighthouse](image 2)'));
    t.true(docx.includes('End of the harbour report.'));
    const html = await text(ids[1]!);
    t.true(html.includes('![Apple blossom](image 1)'), html);
    t.true(html.includes('![Yield per tree](image 3)'));
    t.false(html.includes('Q1 yield'), "an inline SVG's drawing text is not document text");
    const md = await text(ids[2]!);
    t.true(md.includes('![Queen cell](image 1)'), md);
    t.true(md.includes('Paragraph 3 on swarm'));
    t.false(md.includes('====='));
    // The Markdown's clean-up is on its timeline and in a note saying how much was left out.
    const event = (await chunkEvent(db.pool, ids[2]!)).detail;
    t.true(Number(event.tokens_before_cleanup) > 10 * Number(event.tokens_after_cleanup), JSON.stringify(event));
    const note = (await leftOutNote(db.pool, ids[2]!))!.detail;
    t.is(note.images, 1);
    t.true((note.chars_left_out as { base64: number }).base64 > 50_000);
    t.true((note.chars_left_out as { hex: number }).hex > 1000);
    t.is(note.tokens_left_out, Number(event.tokens_before_cleanup) - Number(event.tokens_after_cleanup));
    // The text with no space: split by tokens into chunks that fit, all embedded.
    const noSpaceChunks = await chunksOf(db.pool, ids[3]!);
    t.true(noSpaceChunks.length >= 3, `${noSpaceChunks.length} chunks`);
    t.true(embeddings.billed.every((b) => b.tokens <= 300_000));
    if (viaLlamaParse) return;
    // Say what was embedded: `tvdb costs --by job` per document, `tvdb ingest --estimate` before and after.
    const env = cleanEnv({
      DATABASE_URL: db.url,
      ...pointAt({ llamaparse: { url: 'http://127.0.0.1:9' }, embeddings }, 32),
    });
    delete env.LLAMA_CLOUD_API_KEY;
    const costs = await runTvdb(['costs', '--by', 'job', '--json'], env);
    t.is(costs.code, 0, costs.stderr);
    const documents = (
      JSON.parse(costs.stdout) as {
        documents: Array<{
          job_id: string;
          file_name: string;
          tokens_before_cleanup: number;
          tokens_after_cleanup: number;
          tokens_embedded: number;
          tokens_billed: number;
        }>;
      }
    ).documents;
    const beehive = documents.find((d) => d.job_id === ids[2])!;
    t.is(beehive.file_name, 'beehive.md');
    t.is(beehive.tokens_before_cleanup, Number(event.tokens_before_cleanup));
    t.is(beehive.tokens_after_cleanup, Number(event.tokens_after_cleanup));
    const stored = (await chunksOf(db.pool, ids[2]!)).reduce((n, c) => n + c.token_count, 0);
    t.is(beehive.tokens_embedded, stored);
    t.true(beehive.tokens_billed > 0 && beehive.tokens_billed <= stored);
    const table = await runTvdb(['costs', '--by', 'job'], env);
    t.regex(table.stdout, /tokens before clean-up/);
    t.regex(table.stdout, /beehive\.md/);
    const { mkdtempSync, writeFileSync } = await import('node:fs');
    const dir = mkdtempSync('/tmp/tvdb-estimate-images-');
    writeFileSync(`${dir}/beehive.md`, markdownWithImages());
    const estimate = await runTvdb(['ingest', '--estimate', '--json', dir], env);
    t.is(estimate.code, 0, estimate.stderr);
    const row = (
      JSON.parse(estimate.stdout) as { files: Array<{ tokens: number; tokens_before_cleanup: number; note: string }> }
    ).files[0]!;
    t.true(row.tokens_before_cleanup > 10 * row.tokens, JSON.stringify(row));
    t.regex(row.note, /1 image\(s\) as references/);
  });

// The corpus's Word file with pictures (872 pages, 2 PNGs): before issue 23, two chunks of 21,664
// tokens of base64 that the real API would refuse.
corpusTest(
  'corpus: the 872-page Word handbook with pictures completes on the emulator with its limits on',
  async (t) => {
    const { db, embeddings, pipeline } = await setup(t, false);
    const [result] = await ingest(pipeline.deps, [
      { name: 'handbook-872p.docx', bytes: corpusFile('docx/handbook-872p.docx') },
    ]);
    const id = result!.ok ? result!.jobId : '';
    const states = await waitForTerminal(db.pool, [id], 300_000);
    t.is(states[id]!.state, 'complete', states[id]!.last_error ?? '');
    const chunks = await chunksOf(db.pool, id);
    t.false(
      chunks.some((c) => looksLikeImageBytes(c.content)),
      'no chunk holds image bytes',
    );
    t.true(chunks.every((c) => c.token_count <= 8192));
    t.true(
      chunks
        .map((c) => c.content)
        .join('\n')
        .includes('](image 2)'),
    );
    t.is(embeddings.stats.rejected, 0);
    t.log(`${chunks.length} chunks, ${embeddings.stats.promptTokens} tokens embedded`);
  },
);
