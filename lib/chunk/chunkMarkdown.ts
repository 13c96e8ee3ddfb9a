// Pure: Markdown pages -> chunks of at most `targetTokens` tokens (counted with the embedding
// model's tokenizer), each with its pages, heading path, ordinal and content hash. Blocks (lists,
// tables, code) are kept whole when they fit; larger ones are split at sentences, then at words.
// A run with no place to split (one huge word, CJK without spaces, a long identifier) is split by
// tokens, so no chunk exceeds `targetTokens` whatever the text (`oversized` stays false; it is kept
// for chunks stored before). Each chunk after the first starts with up to `overlapTokens` tokens from
// the end of the previous one (a character suffix when the last word alone is longer);
// `overlapChars` says where the new text begins, so the chunks' new text, in order, is the
// document's text (the property tests check this).
import { createHash } from 'node:crypto';
import { markdownBlocks } from './markdownBlocks.ts';
import { longestRun, MAX_RUN_CHARS } from './runs.ts';

export type ChunkingOptions = { targetTokens: number; overlapTokens: number; countTokens: (text: string) => number };

export type Chunk = {
  ordinal: number;
  content: string;
  contentSha256: Buffer;
  tokenCount: number;
  overlapChars: number;
  pageStart: number;
  pageEnd: number;
  headingPath: string[];
  oversized: boolean;
};

type Piece = {
  text: string;
  tokens: number;
  page: number;
  headingPath: string[];
  oversized: boolean;
  startsSection: boolean;
  isHeading: boolean;
};

export function chunkMarkdown(
  pages: ReadonlyArray<{ page_number: number; markdown: string }>,
  options: ChunkingOptions,
): Chunk[] {
  if (options.targetTokens < 8) throw new RangeError('targetTokens must be at least 8');
  if (options.overlapTokens >= options.targetTokens / 2)
    throw new RangeError('overlapTokens must be less than half of targetTokens');
  const pieces = toPieces(pages, options);
  const chunks: Chunk[] = [];
  let current: Piece[] = [];
  let currentTokens = 0;
  const flush = () => {
    if (!current.length) return;
    const body = current.map((p) => p.text).join('\n\n');
    const previous = chunks.at(-1);
    const overlap =
      previous && options.overlapTokens > 0 && !current[0]!.oversized
        ? tail(previous.content.slice(previous.overlapChars), options)
        : '';
    let content = overlap ? `${overlap}\n\n${body}` : body;
    let tokens = options.countTokens(content);
    let overlapChars = overlap ? overlap.length + 2 : 0;
    if (overlap && tokens > options.targetTokens) {
      content = body; // the overlap would push the chunk over the limit: drop it
      tokens = options.countTokens(body);
      overlapChars = 0;
    }
    chunks.push({
      ordinal: chunks.length,
      content,
      contentSha256: createHash('sha256').update(content).digest(),
      tokenCount: tokens,
      overlapChars,
      pageStart: Math.min(...current.map((p) => p.page)),
      pageEnd: Math.max(...current.map((p) => p.page)),
      headingPath: (current.find((p) => !p.isHeading) ?? current[0]!).headingPath,
      oversized: tokens > options.targetTokens,
    });
    current = [];
    currentTokens = 0;
  };
  // Room for the overlap is kept free in every chunk, so adding it never overflows.
  const budget = options.targetTokens - options.overlapTokens - 4;
  for (const piece of pieces) {
    const separatorTokens = current.length ? 1 : 0;
    const wouldOverflow = currentTokens + separatorTokens + piece.tokens > budget;
    // A new section starts a new chunk once the current one holds a fair amount.
    const sectionBreak = piece.startsSection && currentTokens >= budget / 4;
    if (current.length && (wouldOverflow || sectionBreak || piece.oversized)) {
      // Headings at the end of a full chunk belong with the text that follows them.
      const carried: Piece[] = [];
      let carriedTokens = 0;
      while (
        current.length &&
        current.at(-1)!.isHeading &&
        carriedTokens + current.at(-1)!.tokens + 1 + piece.tokens <= budget
      ) {
        carriedTokens += current.at(-1)!.tokens + 1;
        carried.unshift(current.pop()!);
      }
      flush();
      for (const p of carried) {
        currentTokens += (current.length ? 1 : 0) + p.tokens;
        current.push(p);
      }
    }
    currentTokens += (current.length ? 1 : 0) + piece.tokens;
    current.push(piece);
    if (piece.oversized) flush();
  }
  flush();
  return chunks;
}

function toPieces(pages: ReadonlyArray<{ page_number: number; markdown: string }>, options: ChunkingOptions): Piece[] {
  const budget = options.targetTokens - options.overlapTokens - 4;
  const pieces: Piece[] = [];
  const headingPath: string[] = [];
  for (const page of pages) {
    for (const block of markdownBlocks(page.markdown)) {
      let startsSection = false;
      if (block.kind === 'heading') {
        headingPath.length = Math.min(headingPath.length, block.level! - 1);
        headingPath.push(block.text.replace(/^#+\s*/, ''));
        startsSection = true;
      }
      const path = [...headingPath];
      // js-tiktoken counts ~300k tokens/s: do not count a block that is certainly too long for one
      // piece (over 8 characters per token of budget); it gets split and its parts counted anyway.
      // Nor one holding a run too long to count quickly (runs.ts, MAX_RUN_CHARS).
      const tokens =
        block.text.length > budget * 8 || longestRun(block.text) > MAX_RUN_CHARS
          ? Number.POSITIVE_INFINITY
          : options.countTokens(block.text);
      if (tokens <= budget) {
        pieces.push({
          text: block.text,
          tokens,
          page: page.page_number,
          headingPath: path,
          oversized: false,
          startsSection,
          isHeading: block.kind === 'heading',
        });
        continue;
      }
      // Parts leave a fifth of the room free for the headings that may precede them.
      for (const part of split(block.text, Math.floor(budget * 0.8), options.countTokens)) {
        pieces.push({ ...part, page: page.page_number, headingPath: path, startsSection: false, isHeading: false });
      }
    }
  }
  return pieces;
}

// Split text that is over budget: at sentence ends (or line breaks), then at spaces. Returns
// consecutive parts whose concatenation with single separators is the text.
function split(
  text: string,
  budget: number,
  count: (t: string) => number,
): Array<{ text: string; tokens: number; oversized: boolean }> {
  const sentences = text.split(/(?<=[.!?])\s+|\n+/).filter((s) => s.length > 0);
  const out: Array<{ text: string; tokens: number; oversized: boolean }> = [];
  let buffer = '';
  // cl100k pre-tokenises so that " word" starts a new token: the tokens of "a b" are those of "a"
  // plus those of " b". Counting each unit once keeps this linear (flush() recounts exactly).
  let bufferTokens = 0;
  const push = (s: string, oversized = false) => out.push({ text: s, tokens: count(s), oversized });
  const add = (unit: string, joiner: string) => {
    if (longestRun(unit) > MAX_RUN_CHARS) {
      // Too long a run to count as one: its words one by one, a run by tokens.
      if (/\s/.test(unit.trim())) for (const word of unit.split(/\s+/).filter(Boolean)) add(word, ' ');
      else {
        if (buffer) push(buffer);
        buffer = '';
        bufferTokens = 0;
        for (const part of splitByTokens(unit, budget, count)) out.push(part);
      }
      return;
    }
    const unitTokens = count(buffer ? `${joiner}${unit}` : unit);
    if (bufferTokens + unitTokens <= budget) {
      buffer = buffer ? `${buffer}${joiner}${unit}` : unit;
      bufferTokens += unitTokens;
      return;
    }
    if (buffer) push(buffer);
    buffer = '';
    bufferTokens = 0;
    const alone = count(unit);
    if (alone <= budget) {
      buffer = unit;
      bufferTokens = alone;
    } else if (/\s/.test(unit.trim())) for (const word of unit.split(/\s+/).filter(Boolean)) add(word, ' ');
    else for (const part of splitByTokens(unit, budget, count)) out.push(part); // one unsplittable run
  };
  for (const sentence of sentences) add(sentence, ' ');
  if (buffer) push(buffer);
  return out;
}

/** Consecutive parts of a run with no whitespace, each of at most `budget` tokens and MAX_RUN_CHARS
 * characters, cut at code point boundaries. Sized by the characters per token of the run's start,
 * each part counted once (rarely twice): linear. */
export function splitByTokens(
  text: string,
  budget: number,
  count: (t: string) => number,
): Array<{ text: string; tokens: number; oversized: false }> {
  const out: Array<{ text: string; tokens: number; oversized: false }> = [];
  const sample = text.slice(0, MAX_RUN_CHARS);
  const charsPerToken = sample.length / Math.max(1, count(sample));
  let start = 0;
  while (start < text.length) {
    let length = Math.max(1, Math.min(MAX_RUN_CHARS, Math.floor(budget * charsPerToken * 0.9)));
    for (;;) {
      const end = codePointBoundary(text, start, Math.min(text.length, start + length));
      const part = text.slice(start, end);
      const tokens = count(part);
      if (tokens <= budget || end - start <= 2) {
        out.push({ text: part, tokens, oversized: false });
        start = end;
        break;
      }
      length = Math.max(1, Math.floor(((end - start) * budget * 0.9) / tokens));
    }
  }
  return out;
}

/** `end`, moved back off the middle of a surrogate pair (never to `start`). */
function codePointBoundary(text: string, start: number, end: number): number {
  if (end >= text.length || end <= start) return Math.max(end, Math.min(text.length, start + 1));
  const c = text.charCodeAt(end);
  if (c >= 0xdc00 && c <= 0xdfff) return end - 1 > start ? end - 1 : end + 1;
  return end;
}

// The last whole words of `text` that fit in overlapTokens (counted per word, as in split()); when
// even the last word is longer, the end of that word that fits.
function tail(text: string, options: ChunkingOptions): string {
  const words = text
    .slice(-options.overlapTokens * 16)
    .split(/\s+/)
    .filter(Boolean);
  let tokens = 0;
  let start = words.length;
  for (let i = words.length - 1; i >= 0; i--) {
    const wordTokens = options.countTokens(i === start - 1 && start === words.length ? words[i]! : ` ${words[i]}`);
    if (tokens + wordTokens > options.overlapTokens) break;
    tokens += wordTokens;
    start = i;
  }
  if (start === words.length && words.length) return wordEnd(words.at(-1)!, options);
  return words.slice(start).join(' ');
}

function wordEnd(word: string, options: ChunkingOptions): string {
  let length = Math.min(word.length, options.overlapTokens * 2);
  while (length > 0) {
    let from = word.length - length;
    const c = word.charCodeAt(from);
    if (c >= 0xdc00 && c <= 0xdfff) from += 1;
    const suffix = word.slice(from);
    if (options.countTokens(suffix) <= options.overlapTokens) return suffix;
    length = Math.floor(length / 2);
  }
  return '';
}
