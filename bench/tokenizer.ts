// npm run bench:tokenizer: the chunker's token counter (lib/chunk/tokenizer.ts: gpt-tokenizer)
// against js-tiktoken, the counter it replaced, side by side in one run: War and Peace counted
// whole, and its sentences counted one by one (what the chunker does). Warm, median of 3 runs, CPU
// time of this process. Target: at least 5x faster.
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { getEncoding } from 'js-tiktoken';
import { countTokens } from '../lib/chunk/tokenizer.ts';
import { SMOKE, exitWith } from './harness.ts';

const FILE = fileURLToPath(new URL('../../shared/corpus/text/book-war-and-peace-1225p.txt', import.meta.url));
if (!existsSync(FILE)) {
  console.error(`bench:tokenizer needs ${FILE}`);
  process.exit(2);
}
const book = readFileSync(FILE, 'utf8').slice(0, SMOKE ? 200_000 : undefined);
const sentences = book.split(/(?<=[.!?])\s+/).slice(0, 100_000);
const tiktoken = getEncoding('cl100k_base');
const counters = {
  'js-tiktoken': (text: string) => tiktoken.encode(text, [], []).length,
  'gpt-tokenizer (ours)': countTokens,
};

function cpuMs(work: () => void): number {
  const before = process.cpuUsage();
  work();
  const used = process.cpuUsage(before);
  return (used.user + used.system) / 1000;
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const results: Record<string, { wholeMs: number; sentencesMs: number; tokens: number }> = {};
for (const [name, count] of Object.entries(counters)) {
  count(book.slice(0, 10_000)); // warm up
  let tokens = 0;
  const whole = [0, 1, 2].map(() => cpuMs(() => (tokens = count(book))));
  const pieces = [0, 1, 2].map(() => cpuMs(() => sentences.forEach((s) => count(s))));
  results[name] = { wholeMs: median(whole), sentencesMs: median(pieces), tokens };
}
const [base, ours] = [results['js-tiktoken']!, results['gpt-tokenizer (ours)']!];
console.log(
  `War and Peace${SMOKE ? ' (its first 200,000 characters: smoke size)' : ''}: ${base.tokens} tokens; ${sentences.length} sentences`,
);
console.log('| counter | whole book | tokens/s | every sentence | per sentence |\n|---|---|---|---|---|');
for (const [name, r] of Object.entries(results))
  console.log(
    `| ${name} | ${r.wholeMs.toFixed(0)} ms | ${Math.round(r.tokens / (r.wholeMs / 1000)).toLocaleString('en')} | ${r.sentencesMs.toFixed(0)} ms | ${((r.sentencesMs * 1000) / sentences.length).toFixed(1)} µs |`,
  );
const speedups = [base.wholeMs / ours.wholeMs, base.sentencesMs / ours.sentencesMs];
console.log(`speed-up: ${speedups[0]!.toFixed(1)}x whole, ${speedups[1]!.toFixed(1)}x by sentence (target 5x)`);
if (ours.tokens !== base.tokens) console.log(`COUNTS DIFFER: ${ours.tokens} vs ${base.tokens}`);
exitWith({ targetsMet: Math.min(...speedups) >= 5, wrong: ours.tokens !== base.tokens });
