// Issue 23: what clean-up leaves out and what it keeps, and batches within a model's limits.
import test from 'ava';
import fc from 'fast-check';
import { createHash } from 'node:crypto';
import { leaveOutNonText, tokensLeftOut } from '../lib/chunk/leaveOutNonText.ts';
import { batchByLimits } from '../lib/embed/batchByLimits.ts';
import { countTokens } from '../lib/chunk/tokenizer.ts';

const clean = (markdown: string) => leaveOutNonText([{ page_number: 1, markdown }]);
const textOf = (markdown: string) =>
  clean(markdown)
    .pages.map((p) => p.markdown)
    .join('');

test('images become ![alt](image N) in document order: Markdown data: links, <img> tags, inline SVG', (t) => {
  const b64 = Buffer.alloc(3000, 1).toString('base64');
  const out = clean(
    `a ![cat](data:image/png;base64,${b64}) b <img alt="dog" src="data:image/jpeg;base64,${b64}"> c <svg><title>Chart</title><text>x</text></svg> d [file](data:application/pdf;base64,${b64})`,
  );
  t.is(out.pages[0]!.markdown, 'a ![cat](image 1) b ![dog](image 2) c ![Chart](image 3) d [file](data)');
  t.is(out.images, 3);
});

test('text that looks like data is kept: hashes, numbers, URLs, CJK, prose about hex words, code', (t) => {
  const kept = [
    `sha256 ${createHash('sha256').update('x').digest('hex')} is the digest`,
    Array.from({ length: 80 }, (_, i) => String(1990 + i)).join(' '),
    'https://example.com/a/very/long/path/' + 'segment/'.repeat(30),
    Array.from({ length: 1200 }, (_, i) => String.fromCodePoint(0x4e00 + ((i * 7919) % 20_000))).join(''),
    'a bead, a cafe, a dead face, a bad fade '.repeat(20),
    '| --- | --- | --- |',
    'Chapter 1 .......... 5',
    'const x = useState(0); // React hook with camelCase identifiers and numbers 42',
  ];
  for (const text of kept) t.is(textOf(text), text, text.slice(0, 40));
});

test('base64 (wrapped too), hex dumps and filler are left out and counted', (t) => {
  const wrapped = Buffer.from(Array.from({ length: 4000 }, (_, i) => (i * 131) % 256))
    .toString('base64')
    .replace(/(.{76})/g, '$1\n');
  const out = clean(`start\n${wrapped}\nmiddle ${'-'.repeat(300)} end ${'xo '.repeat(50)}stop`);
  t.is(out.pages[0]!.markdown.replace(/\s+/g, ' ').trim(), 'start middle end stop');
  t.true(out.leftOut.base64 > 5000);
  t.true(out.leftOut.filler >= 300);
  t.true(tokensLeftOut(out, countTokens) > 1000);
});

test('property: batches keep every item in order within the per-request limits; an input over the limit is refused', (t) => {
  fc.assert(
    fc.property(
      fc.array(fc.integer({ min: 1, max: 8192 }), { maxLength: 400 }),
      fc.integer({ min: 1, max: 64 }),
      fc.integer({ min: 8192, max: 60_000 }),
      (counts, maxInputs, maxTokens) => {
        const items = counts.map((token_count, i) => ({ i, token_count }));
        const limits = { maxInputTokens: 8192, maxInputsPerRequest: maxInputs, maxTokensPerRequest: maxTokens };
        const batches = batchByLimits(items, limits);
        if (
          batches
            .flat()
            .map((x) => x.i)
            .join() !== items.map((x) => x.i).join()
        )
          return false;
        return batches.every(
          (b) => b.length >= 1 && b.length <= maxInputs && b.reduce((n, x) => n + x.token_count, 0) <= maxTokens,
        );
      },
    ),
  );
  t.throws(
    () =>
      batchByLimits([{ token_count: 8193 }], {
        maxInputTokens: 8192,
        maxInputsPerRequest: 2048,
        maxTokensPerRequest: 300_000,
      }),
    { message: /over the model's limit of 8192 tokens/ },
  );
});
