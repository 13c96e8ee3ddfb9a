// Issue 23: no chunk over the limit whatever the text. A property test over unbreakable runs of
// every kind (long base64, hex, one huge word, CJK without spaces, emoji, repeated filler) set
// among ordinary text: every chunk fits, overlap is kept, the text is covered in order.
import test from 'ava';
import fc from 'fast-check';
import { chunkMarkdown, type Chunk } from '../lib/chunk/chunkMarkdown.ts';
import { countTokens } from '../lib/chunk/tokenizer.ts';
import { leaveOutNonText } from '../lib/chunk/leaveOutNonText.ts';

const bare = (s: string) => s.replace(/\s+/g, '');
const newText = (chunks: Chunk[]) => chunks.map((c) => c.content.slice(c.overlapChars)).join('');

const base64 = fc.uint8Array({ minLength: 300, maxLength: 6000 }).map((b) => Buffer.from(b).toString('base64'));
const hex = fc.uint8Array({ minLength: 200, maxLength: 3000 }).map((b) => Buffer.from(b).toString('hex'));
const hugeWord = fc.stringMatching(/^[a-z]{300,3000}$/);
const cjk = fc
  .array(fc.integer({ min: 0x4e00, max: 0x9fff }), { minLength: 200, maxLength: 3000 })
  .map((cs) => String.fromCodePoint(...cs));
const emoji = fc
  .array(fc.constantFrom('😀', '👍🏽', '👨‍👩‍👧', '🇫🇷', '❤️', '🎉'), { minLength: 100, maxLength: 1500 })
  .map((e) => e.join(''));
const filler = fc
  .tuple(fc.constantFrom('=', '.', '-', 'ab', 'xyz', '\u00a0'), fc.integer({ min: 200, max: 5000 }))
  .map(([p, n]) => p.repeat(n));
const run = fc.oneof(base64, hex, hugeWord, cjk, emoji, filler);
const prose = fc
  .array(fc.stringMatching(/^[a-z]{1,10}$/), { minLength: 1, maxLength: 60 })
  .map((w) => `${w.join(' ')}.`);
const page = fc.array(fc.oneof(prose, run), { minLength: 1, maxLength: 5 }).map((blocks) => blocks.join(' '));
const settings = fc.record({
  targetTokens: fc.integer({ min: 16, max: 600 }),
  overlapRatio: fc.double({ min: 0, max: 0.45, noNaN: true }),
});

test('property: unbreakable runs of every kind are split so that every chunk fits, overlap kept', (t) => {
  fc.assert(
    fc.property(fc.array(page, { minLength: 1, maxLength: 3 }), settings, (texts, s) => {
      const pages = texts.map((markdown, i) => ({ page_number: i + 1, markdown }));
      const options = {
        targetTokens: s.targetTokens,
        overlapTokens: Math.floor(s.targetTokens * s.overlapRatio),
        countTokens,
      };
      const chunks = chunkMarkdown(pages, options);
      if (bare(newText(chunks)) !== bare(pages.map((p) => p.markdown).join(''))) return false;
      for (const c of chunks) {
        if (c.tokenCount > options.targetTokens || c.oversized) return false;
        if (c.tokenCount !== countTokens(c.content)) return false;
        if (c.content.slice(c.overlapChars) === '') return false;
      }
      // Overlap is kept inside a split run as between words: some later chunk starts with overlap.
      if (options.overlapTokens >= 4 && chunks.length > 2 && !chunks.slice(1).some((c) => c.overlapChars > 0))
        return false;
      return true;
    }),
    { numRuns: 120 },
  );
  t.pass();
});

test('property: after clean-up, no chunk holds a long base64 or hex run, and prose survives', (t) => {
  fc.assert(
    fc.property(prose, fc.oneof(base64, hex), prose, (before, junk, after) => {
      const cleaned = leaveOutNonText([{ page_number: 1, markdown: `${before} ${junk} ${after}` }]);
      const text = cleaned.pages.map((p) => p.markdown).join('');
      return !text.includes(junk.slice(0, 200)) && text.includes(before) && text.includes(after) && cleaned.runs === 1;
    }),
    // Found by CI and by longer runs: hex of zero bytes spells no a-f; base64 of repeated bytes ends in
    // its padding; a word of a-f after a dump is prose.
    {
      numRuns: 100,
      examples: [
        ['a.', `${'0'.repeat(399)}1`, 'a.'],
        ['a.', `${'0'.repeat(359)}1${'0'.repeat(40)}`, 'aa a.'],
        ['a.', Buffer.alloc(300).toString('base64'), 'face bad.'],
        ['a.', Buffer.from([1, ...Array(299).fill(255)]).toString('base64'), 'a.'],
      ],
    },
  );
  t.pass();
});

test('a 1 MB run with no space chunks in linear time, every chunk within 8,192 tokens', (t) => {
  const word = 'Donaudampfschifffahrt'.repeat(50_000);
  const started = performance.now();
  const chunks = chunkMarkdown([{ page_number: 1, markdown: word }], {
    targetTokens: 8192,
    overlapTokens: 200,
    countTokens,
  });
  const ms = performance.now() - started;
  t.true(chunks.every((c) => c.tokenCount <= 8192));
  t.is(bare(newText(chunks)), word);
  t.log(`${chunks.length} chunks in ${ms.toFixed(0)} ms`);
  t.true(ms < 20_000);
});
