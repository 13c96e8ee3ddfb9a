import test from 'ava';
import fc from 'fast-check';
import { chunkMarkdown, type Chunk } from '../lib/chunk/chunkMarkdown.ts';
import { markdownBlocks } from '../lib/chunk/markdownBlocks.ts';
import { countTokens } from '../lib/chunk/tokenizer.ts';
import { HAS_CORPUS, corpusFile, corpusTest } from './helpers/corpus.ts';

const norm = (s: string) => s.replace(/\s+/g, ' ').trim();
const bare = (s: string) => s.replace(/\s+/g, '');
const newText = (chunks: Chunk[]) => chunks.map((c) => c.content.slice(c.overlapChars)).join(' ');
const pagesText = (pages: Array<{ markdown: string }>) => pages.map((p) => p.markdown).join(' ');

const words = fc.stringMatching(/^[a-z]{1,12}$/);
const sentence = fc.array(words, { minLength: 1, maxLength: 30 }).map((w) => `${w.join(' ')}.`);
const paragraph = fc.array(sentence, { minLength: 1, maxLength: 8 }).map((s) => s.join(' '));
const block = fc.oneof(
  paragraph,
  fc
    .tuple(fc.integer({ min: 1, max: 4 }), fc.array(words, { minLength: 1, maxLength: 5 }))
    .map(([l, w]) => `${'#'.repeat(l)} ${w.join(' ')}`),
  fc.array(sentence, { minLength: 1, maxLength: 6 }).map((items) => items.map((i) => `- ${i}`).join('\n')),
  fc
    .array(fc.array(words, { minLength: 2, maxLength: 4 }), { minLength: 1, maxLength: 6 })
    .map((rows) => rows.map((r) => `| ${r.join(' | ')} |`).join('\n')),
  fc.stringMatching(/^[a-z0-9]{200,400}$/), // one unsplittable run
);
const document = fc
  .array(
    fc.array(block, { minLength: 1, maxLength: 8 }).map((b) => b.join('\n\n')),
    { minLength: 1, maxLength: 4 },
  )
  .map((pages) => pages.map((markdown, i) => ({ page_number: i + 1, markdown })));
const settings = fc.record({
  targetTokens: fc.integer({ min: 40, max: 300 }),
  overlapRatio: fc.double({ min: 0, max: 0.45, noNaN: true }),
});

test('property: chunks cover the whole text in order, and none exceeds the limit', (t) => {
  fc.assert(
    fc.property(document, settings, (pages, s) => {
      const options = {
        targetTokens: s.targetTokens,
        overlapTokens: Math.floor(s.targetTokens * s.overlapRatio),
        countTokens,
      };
      const chunks = chunkMarkdown(pages, options);
      // Runs with no space are split by tokens: their parts are separated by a space here.
      if (bare(newText(chunks)) !== bare(pagesText(pages))) return false;
      for (const c of chunks) {
        if (c.tokenCount > options.targetTokens || c.oversized) return false;
        if (c.tokenCount !== countTokens(c.content)) return false;
      }
      return chunks.every((c, i) => c.ordinal === i);
    }),
    { numRuns: 150 },
  );
  t.pass();
});

test('property: chunking is deterministic', (t) => {
  fc.assert(
    fc.property(document, (pages) => {
      const options = { targetTokens: 80, overlapTokens: 10, countTokens };
      return JSON.stringify(chunkMarkdown(pages, options)) === JSON.stringify(chunkMarkdown(pages, options));
    }),
    { numRuns: 50 },
  );
  t.pass();
});

test('tables, lists and code blocks are kept whole when they fit', (t) => {
  const table = '| a | b |\n|---|---|\n| 1 | 2 |\n| 3 | 4 |';
  const list = '- one\n- two\n\n- three';
  const code = '```\nline 1\n\nline 2\n```';
  const blocks = markdownBlocks(`# T\n\nintro text\n\n${table}\n\n${list}\n\n${code}`);
  t.deepEqual(
    blocks.map((b) => b.kind),
    ['heading', 'paragraph', 'table', 'list', 'code'],
  );
  t.is(blocks[2]!.text, table);
  t.is(blocks[3]!.text, list);
  t.is(blocks[4]!.text, code);
});

test('each chunk keeps its pages and heading path', (t) => {
  const pages = [
    { page_number: 1, markdown: '# Guide\n\n## Install\n\n' + 'Run the installer now. '.repeat(30) },
    { page_number: 2, markdown: '## Use\n\n' + 'Open the app and click. '.repeat(30) },
  ];
  const chunks = chunkMarkdown(pages, { targetTokens: 100, overlapTokens: 10, countTokens });
  t.deepEqual(chunks[0]!.headingPath, ['Guide', 'Install']);
  t.is(chunks[0]!.pageStart, 1);
  const use = chunks.find((c) => c.headingPath.includes('Use'))!;
  t.deepEqual(use.headingPath, ['Guide', 'Use']);
  t.is(use.pageStart, 2);
  t.true(chunks.every((c) => c.tokenCount <= 100));
  t.true(
    chunks.slice(1).some((c) => c.overlapChars > 0),
    'later chunks start with overlap',
  );
});

test('a run with no place to split is split by tokens: every chunk fits, with overlap', (t) => {
  const run = 'x'.repeat(3000);
  const chunks = chunkMarkdown([{ page_number: 1, markdown: `before text.\n\n${run}\n\nafter text.` }], {
    targetTokens: 50,
    overlapTokens: 5,
    countTokens,
  });
  t.true(chunks.length > 5);
  t.true(chunks.every((c) => c.tokenCount <= 50 && !c.oversized));
  t.is(bare(newText(chunks)), bare(`before text.${run}after text.`));
  const inRun = chunks.filter((c) => /^x+$/.test(c.content.slice(c.overlapChars)));
  t.true(inRun.slice(1).every((c) => c.overlapChars > 0 && /^x+$/.test(c.content.slice(0, c.overlapChars).trim())));
});

corpusTest('a large real text chunks within the limit (War and Peace, 3.2 MB)', (t) => {
  const text = corpusFile('text/book-war-and-peace-1225p.txt').toString('utf8');
  const chunks = chunkMarkdown([{ page_number: 1, markdown: text }], {
    targetTokens: 512,
    overlapTokens: 64,
    countTokens,
  });
  t.true(chunks.length > 1000);
  t.true(chunks.every((c) => c.tokenCount <= 512 && !c.oversized));
  t.is(norm(newText(chunks)), norm(text));
});
