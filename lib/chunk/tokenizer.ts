// Token counting with the embedding models' tokenizer (cl100k_base: OpenAI's embedding models, and
// our local embedder by convention), offline. gpt-tokenizer counts ~8x faster than js-tiktoken on
// whole texts and ~13x on the sentence-sized pieces the chunker counts (bench:tokenizer), with
// identical counts over the corpus (test/tokenizer.test.ts) but for one character: it mis-encodes
// U+FEFF (a byte-order mark inside text; it never finds a token whose bytes start with the BOM's),
// so in a text holding one, the pieces cl100k's pre-tokenizer makes (BPE never merges across them)
// that hold a U+FEFF are counted by js-tiktoken, loaded only then, and the others by gpt-tokenizer.
// js-tiktoken's merge is quadratic in a piece's length (a 10 KB whitespace run took seconds), so a
// piece over MAX_EXACT_PIECE characters is counted by gpt-tokenizer: over by about one token per
// U+FEFF it holds (measured: it encodes U+FEFF as two tokens instead of one). Special tokens
// ("<|endoftext|>") in a document are counted as plain text, not refused.
import { createRequire } from 'node:module';
import { countTokens as gptCountTokens } from 'gpt-tokenizer/encoding/cl100k_base';
import type { Tiktoken } from 'js-tiktoken/lite';
import { longestRun, MAX_RUN_CHARS } from './runs.ts';

const ORDINARY = { disallowedSpecial: new Set<string>() };
let bomEncoder: Tiktoken | undefined;

function jsTiktoken(): Tiktoken {
  const require = createRequire(import.meta.url);
  const { Tiktoken } = require('js-tiktoken/lite') as typeof import('js-tiktoken/lite');
  const ranks = require('js-tiktoken/ranks/cl100k_base') as (typeof import('js-tiktoken/ranks/cl100k_base'))['default'];
  return new Tiktoken(ranks);
}

/** cl100k_base's pre-tokenizer (js-tiktoken's ranks' pat_str, which gpt-tokenizer uses too). */
const PIECES =
  /'s|'S|'t|'T|'re|'rE|'Re|'RE|'ve|'vE|'Ve|'VE|'m|'M|'ll|'lL|'Ll|'LL|'d|'D|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+/gu;
export const MAX_EXACT_PIECE = 256;

export function countTokens(text: string): number {
  if (!text.includes('\ufeff')) return gptCountTokens(text, ORDINARY);
  let count = 0;
  for (const [piece] of text.matchAll(PIECES))
    count +=
      piece.includes('\ufeff') && piece.length <= MAX_EXACT_PIECE
        ? (bomEncoder ??= jsTiktoken()).encode(piece, [], []).length
        : gptCountTokens(piece, ORDINARY);
  return count;
}

/** Tokens of a text of any shape in linear time: exact when no run exceeds MAX_RUN_CHARS, else the
 * long runs are counted in slices of MAX_RUN_CHARS (within a token or so per slice of the exact
 * count). For reports and estimates; chunks are counted exactly (they hold no longer runs). */
export function countTokensBounded(text: string): number {
  if (longestRun(text) <= MAX_RUN_CHARS) return countTokens(text);
  let total = 0;
  for (const piece of text.split(/(\s+)/)) {
    if (piece.length <= MAX_RUN_CHARS) total += piece ? countTokens(piece) : 0;
    else
      for (let at = 0; at < piece.length; at += MAX_RUN_CHARS) {
        let end = Math.min(piece.length, at + MAX_RUN_CHARS);
        const c = piece.charCodeAt(end);
        if (c >= 0xdc00 && c <= 0xdfff) end += 1;
        total += countTokens(piece.slice(at, end));
        at = end - MAX_RUN_CHARS;
      }
  }
  return total;
}
