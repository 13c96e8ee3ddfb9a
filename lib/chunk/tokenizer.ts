// Token counting with the embedding models' tokenizer (cl100k_base: OpenAI's embedding models, and
// our local embedder by convention), offline. gpt-tokenizer counts ~8x faster than js-tiktoken on
// whole texts and ~13x on the sentence-sized pieces the chunker counts (bench:tokenizer), with
// identical counts over the corpus (test/tokenizer.test.ts) but for one character: it mis-encodes
// U+FEFF (a byte-order mark inside text), so texts holding one are counted by js-tiktoken, loaded
// only then. Special tokens ("<|endoftext|>") in a document are counted as plain text, not refused.
import { createRequire } from 'node:module';
import { countTokens as gptCountTokens } from 'gpt-tokenizer/encoding/cl100k_base';
import type { Tiktoken } from 'js-tiktoken/lite';

const ORDINARY = { disallowedSpecial: new Set<string>() };
let bomEncoder: Tiktoken | undefined;

function jsTiktoken(): Tiktoken {
  const require = createRequire(import.meta.url);
  const { Tiktoken } = require('js-tiktoken/lite') as typeof import('js-tiktoken/lite');
  const ranks = require('js-tiktoken/ranks/cl100k_base') as (typeof import('js-tiktoken/ranks/cl100k_base'))['default'];
  return new Tiktoken(ranks);
}

export function countTokens(text: string): number {
  if (text.includes('\ufeff')) return (bomEncoder ??= jsTiktoken()).encode(text, [], []).length;
  return gptCountTokens(text, ORDINARY);
}
