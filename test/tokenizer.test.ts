// The chunker's token counter (gpt-tokenizer, with js-tiktoken for texts holding U+FEFF) counts
// exactly as js-tiktoken does: over every text of the corpus (the text files and what the local
// parser makes of every other document) and over strings built to find differences.
import test from 'ava';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import { getEncoding } from 'js-tiktoken';
import { countTokens } from '../lib/chunk/tokenizer.ts';
import { parseLocally } from '../lib/parse/local/parseLocally.ts';
import { CORPUS_DIR, corpusFile, corpusTest } from './helpers/corpus.ts';

const reference = getEncoding('cl100k_base');
// Special tokens in a document are text: both count them so (js-tiktoken would refuse by default).
const referenceCount = (text: string) => reference.encode(text, [], []).length;

corpusTest('every corpus text counts the same as with js-tiktoken', async (t) => {
  let texts = 0;
  let tokens = 0;
  for (const dir of ['text', 'html', 'docx', 'pdf', 'bad']) {
    for (const name of readdirSync(path.join(CORPUS_DIR, dir))) {
      let pages: string[];
      try {
        pages = (await parseLocally(corpusFile(`${dir}/${name}`))).pages.map((p) => p.markdown);
      } catch {
        continue; // not text the parser reads (scans, corrupt files): nothing to count
      }
      for (const text of pages) {
        const expected = referenceCount(text);
        t.is(countTokens(text), expected, `${dir}/${name}`);
        texts += 1;
        tokens += expected;
      }
    }
  }
  t.true(texts > 600, `${texts} pages`);
  t.log(`${texts} pages, ${tokens} tokens, identical counts`);
});

test('strings built to differ count the same: whitespace runs, BOMs, special tokens, emoji, surrogates', (t) => {
  const fixed = [
    '',
    '\ufeffusing System;',
    'a\ufeffb \ufeff\ufeff',
    '<|endoftext|> and <|fim_prefix|>',
    ' '.repeat(300) + 'x' + '\n'.repeat(200),
    '👩‍👩‍👧‍👦 🇫🇷 ❤️',
    '\ud800 lone \udfff surrogates',
    'Ünïcödé — “quotes” … 中文 日本語 한국어',
    '\u0085 next line \u2028 line separator',
  ];
  for (const text of fixed) t.is(countTokens(text), referenceCount(text), JSON.stringify(text));
  fc.assert(
    fc.property(fc.string({ unit: 'binary', maxLength: 200 }), fc.string({ maxLength: 200 }), (a, b) => {
      const text = `${a} ${b}`;
      return countTokens(text) === referenceCount(text);
    }),
    { numRuns: 2000 },
  );
});

// Issue 22: a text holding U+FEFF is counted piece by piece (js-tiktoken only for the short pieces
// that hold one), exactly as js-tiktoken counts it, and no longer quadratically.
test('texts holding U+FEFF count the same as with js-tiktoken, piece by piece', (t) => {
  const withBom = fc
    .array(fc.oneof(fc.string({ maxLength: 20 }), fc.constantFrom('\ufeff', ' \ufeff', '\ufeff ', '  ', '\n', "'s")), {
      maxLength: 30,
    })
    .map((parts) => `${parts.join('')}\ufeff`);
  fc.assert(
    fc.property(withBom, (text) => countTokens(text) === referenceCount(text)),
    { numRuns: 2000 },
  );
  t.pass('2,000 texts holding U+FEFF counted alike');
});

test('a hostile 10 KB text (a U+FEFF in a run of spaces) counts in well under a second of CPU', (t) => {
  const text = `a\ufeff${' '.repeat(9_997)}x`;
  const started = process.threadCpuUsage();
  const count = countTokens(text);
  const used = process.threadCpuUsage(started);
  const ms = (used.user + used.system) / 1000;
  t.log(
    `${count} tokens in ${ms.toFixed(0)} ms of CPU (js-tiktoken on the whole text: quadratic, 4.8 s for 4,000 spaces)`,
  );
  t.true(count > 0);
  t.true(ms < 1500, `${ms.toFixed(0)} ms`);
});
