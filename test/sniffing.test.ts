// Type detection and every text classifier run in linear time (or on a hard-bounded prefix) on
// adversarial input: a property test with fast-check, bounded at 200 ms per call. The worst time
// seen is printed. Also: UTF-16 without a BOM is text.
import test from 'ava';
import fc from 'fast-check';
import { performance } from 'node:perf_hooks';
import { classifyText, decodeText, detectType, isTableRule } from '../lib/documents/detectType.ts';
import { htmlCharset } from '../lib/parse/local/htmlToMarkdown.ts';
import { markdownBlocks } from '../lib/chunk/markdownBlocks.ts';
import { cleanText } from '../lib/parse/cleanText.ts';

const BOUND_MS = 200;
const MAX = 64 * 1024;

// The pieces attackers repeat: markup openers and comments, blank-line runs, nested brackets, pipes
// and dashes of tables, heading marks, long runs of one character, line separators.
const piece = fc.constantFrom(
  '<!---->',
  '<!--',
  '-->',
  '<?xml',
  '<?xml ?>',
  '<meta',
  '<meta charset=',
  '<html',
  '<!doctype',
  '\n',
  '\n\n\n\n',
  '\r\n',
  ' ',
  '\t',
  '|',
  '| --- ',
  '---',
  ':',
  '#',
  '###### ',
  '```',
  '[',
  ']',
  '(',
  ')',
  '[[[[',
  '))))',
  '\u2028',
  '.',
  '. ',
  'a',
  '1. ',
  '- ',
  '\u0000',
);
const adversarial = fc
  .tuple(fc.array(piece, { minLength: 1, maxLength: 12 }), fc.integer({ min: 1, max: MAX }), fc.string())
  .map(([parts, size, tail]) => {
    const unit = parts.join('');
    return (unit.repeat(Math.ceil(size / unit.length)).slice(0, size) + tail).slice(0, MAX);
  });

const classifiers: Array<[string, (text: string) => unknown]> = [
  ['detectType', (text) => detectType(Buffer.from(text))],
  ['detectType (UTF-16LE)', (text) => detectType(Buffer.from(text, 'utf16le'))],
  ['classifyText', (text) => classifyText(text)],
  ['decodeText', (text) => decodeText(Buffer.from(text))],
  ['isTableRule', (text) => isTableRule(text)],
  ['htmlCharset', (text) => htmlCharset(Buffer.from(text, 'latin1'))],
  ['markdownBlocks', (text) => markdownBlocks(text)],
  ['cleanText', (text) => cleanText(text)],
];

test('type detection and the text classifiers stay linear on adversarial input up to 64 KB', (t) => {
  let worst = { ms: 0, name: '', size: 0 };
  for (const [name, classify] of classifiers) {
    fc.assert(
      fc.property(adversarial, (text) => {
        const started = performance.now();
        classify(text);
        const ms = performance.now() - started;
        if (ms > worst.ms) worst = { ms, name, size: text.length };
        return ms < BOUND_MS;
      }),
      { numRuns: 60, seed: 16 },
    );
  }
  t.log(`worst: ${worst.ms.toFixed(1)} ms (${worst.name}, ${worst.size} characters; bound ${BOUND_MS} ms)`);
  t.pass();
});

test('the inputs of the report: 30 empty comments and a character, blank-line runs, a heading of spaces', (t) => {
  const cases = [
    '<!---->'.repeat(30) + 'x',
    '<!---->'.repeat(9000) + 'x',
    '\n'.repeat(60000) + '|---|---|x',
    '# ' + ' '.repeat(60000) + 'a\rb',
    '|' + '| '.repeat(30000) + 'x',
    '<?xml'.repeat(12000),
  ];
  for (const text of cases) {
    const started = performance.now();
    detectType(Buffer.from(text));
    markdownBlocks(text);
    t.true(performance.now() - started < BOUND_MS, `${JSON.stringify(text.slice(0, 20))}...`);
  }
  // Still classified as before.
  t.is(detectType(Buffer.from('<!-- a --><!-- b -->\n<!DOCTYPE html><p>x</p>')).kind, 'html');
  t.is(detectType(Buffer.from('<?xml version="1.0"?>\n<!-- c --><!doctype html>')).kind, 'html');
  t.is(detectType(Buffer.from('a | b\n:--- | ---:\n1 | 2')).kind, 'markdown');
  t.is(detectType(Buffer.from('| a | b |\nplain')).kind, 'markdown');
  t.is(detectType(Buffer.from('---\nnot a table')).kind, 'text');
});

test('UTF-16 without a BOM, either byte order, is text; binary with NULs is not', (t) => {
  const text = '# Bericht\n\nÜber die Grenzen: Straße, café, naïve.\n';
  const be = Buffer.from(text, 'utf16le').swap16();
  t.is(detectType(Buffer.from(text, 'utf16le')).kind, 'markdown');
  t.is(detectType(be).kind, 'markdown');
  t.is(decodeText(be), text);
  t.is(decodeText(Buffer.from(text, 'utf16le')), text);
  t.is(detectType(Buffer.from([0, 1, 2, 3, 0, 0, 9, 0, 0, 0x41, 0, 0x42])).kind, 'unknown');
  // Zeros on one side but control characters: not text.
  t.is(detectType(Buffer.from(Array.from({ length: 400 }, (_, i) => (i % 2 ? 0 : i % 7)))).kind, 'unknown');
});
