// Pure: what of a parsed document is text worth embedding. Images become a reference a person can
// read, `![alt](image N)` (N counts the document's images from 1; alt text kept when it has one),
// never their bytes: `data:` URIs (Markdown images and links, HTML <img> left in Markdown), inline
// <svg>. Then other runs that are not text are left out: long base64, hex dumps, repeated filler.
// Every step is one forward pass (regular expressions whose parts cannot overlap, or plain loops):
// linear in the text whatever it holds.

export type LeftOut = { base64: number; hex: number; filler: number };
export type Cleaned = {
  pages: Array<{ page_number: number; markdown: string }>;
  /** Images replaced by a reference. */
  images: number;
  /** Characters of each kind of non-text run left out (image bytes are counted as base64). */
  leftOut: LeftOut;
  /** Runs left out. */
  runs: number;
  /** The first SAMPLE_CHARS characters of what was left out, to estimate its tokens by. */
  sample: string;
};

export const SAMPLE_CHARS = 8192;

/** The tokens of what was left out, estimated from the sample: counting megabytes of base64 takes
 * minutes (~35 kB/s), and what is left out is never sent. */
export function tokensLeftOut(cleaned: Cleaned, count: (text: string) => number): number {
  const chars = cleaned.leftOut.base64 + cleaned.leftOut.hex + cleaned.leftOut.filler;
  if (!chars || !cleaned.sample) return 0;
  return Math.round((chars * count(cleaned.sample)) / cleaned.sample.length);
}

/** Runs shorter than this many characters are kept (a hash, a short identifier, a rule). */
export const MIN_RUN_CHARS = 200;
/** One character (or a pattern of up to 8) repeated this often, as one word: filler. */
export const MIN_FILLER_CHARS = 64;

// data:[<type>/<subtype>][;param=value]*,<payload>: each part ends where the next delimiter starts.
const DATA_URI = /data:([\w.+-]+\/[\w.+-]+)?((?:;[\w.+-]+(?:=[\w.+-]*)?)*),([^\s"'()<>[\]]*)/gi;
const IMG_TAG = /<img\b([^<>]{0,4000})>/gi;
const ATTR = (name: string) => new RegExp(`\\b${name}\\s*=\\s*(?:"([^"]*)"|'([^']*)'|([^\\s"'>]+))`, 'i');

export function leaveOutNonText(pages: ReadonlyArray<{ page_number: number; markdown: string }>): Cleaned {
  const state: State = { images: 0, leftOut: { base64: 0, hex: 0, filler: 0 }, runs: 0, sample: '' };
  const out = pages
    .map((p) => ({ page_number: p.page_number, markdown: cleanPage(p.markdown, state) }))
    .filter((p) => p.markdown.trim() !== '');
  return { pages: out, images: state.images, leftOut: state.leftOut, runs: state.runs, sample: state.sample };
}

type State = { images: number; leftOut: LeftOut; runs: number; sample: string };

const keepSample = (state: State, text: string) => {
  if (state.sample.length < SAMPLE_CHARS) state.sample += text.slice(0, SAMPLE_CHARS - state.sample.length);
};

function cleanPage(markdown: string, state: State): string {
  let text = markdown.replace(DATA_URI, (match, type: string | undefined) => {
    keepSample(state, match);
    if (type && !/^image\//i.test(type)) {
      state.leftOut.base64 += match.length;
      state.runs += 1;
      return 'data';
    }
    state.images += 1;
    state.leftOut.base64 += match.length;
    return `image ${state.images}`;
  });
  text = text.replace(IMG_TAG, (_m, attrs: string) => {
    const alt = attr(attrs, 'alt') ?? attr(attrs, 'title') ?? '';
    const src = attr(attrs, 'src') ?? `image ${++state.images}`;
    return `![${oneLine(alt)}](${src})`;
  });
  return leaveOutRuns(replaceSvg(text, state), state);
}

function attr(attrs: string, name: string): string | undefined {
  const m = ATTR(name).exec(attrs);
  return m ? (m[1] ?? m[2] ?? m[3]) : undefined;
}

const oneLine = (s: string) => s.replace(/\s+/g, ' ').replace(/[[\]]/g, '').trim().slice(0, 300);

/** Inline <svg>...</svg> (as left in Markdown by a parser): a reference, its <title> as alt text. */
function replaceSvg(text: string, state: State): string {
  const lower = text.toLowerCase();
  let at = lower.indexOf('<svg');
  if (at < 0) return text;
  const parts: string[] = [];
  let from = 0;
  while (at >= 0) {
    const end = lower.indexOf('</svg>', at);
    if (end < 0) break; // unterminated: the run scan judges what follows
    const svg = text.slice(at, end + 6);
    const title = /<title[^<>]*>([^<]{0,300})<\/title>/i.exec(svg.slice(0, 2000))?.[1];
    state.images += 1;
    parts.push(text.slice(from, at), `![${oneLine(title ?? '')}](image ${state.images})`);
    from = end + 6;
    at = lower.indexOf('<svg', from);
  }
  parts.push(text.slice(from));
  return parts.join('');
}

const isBase64Char = (c: number) =>
  (c >= 65 && c <= 90) ||
  (c >= 97 && c <= 122) ||
  (c >= 48 && c <= 57) ||
  c === 43 ||
  c === 47 ||
  c === 61 ||
  c === 45 ||
  c === 95;
const isHexChar = (c: number) => (c >= 48 && c <= 57) || (c >= 65 && c <= 70) || (c >= 97 && c <= 102);
const isSpace = (c: number) => c === 32 || c === 9 || c === 10 || c === 13 || c === 12 || c === 11 || c === 0xa0;

type Kind = keyof LeftOut | null;

/** A word's kind: base64-like (long, its alphabet, digits and both cases), hex, filler, or text. */
function wordKind(text: string, start: number, end: number): Kind {
  const length = end - start;
  if (length >= MIN_FILLER_CHARS && periodic(text, start, end)) return 'filler';
  let hex = true;
  let b64 = true;
  let digit = false;
  let upper = false;
  let lower = false;
  for (let i = start; i < end; i++) {
    const c = text.charCodeAt(i);
    if (c === 58 && i === end - 1 && hex) continue; // "00000010:" (a hex dump's offset)
    if (!isHexChar(c)) hex = false;
    if (!isBase64Char(c)) {
      b64 = false;
      if (!hex) break;
    }
    if (c >= 48 && c <= 57) digit = true;
    else if (c >= 65 && c <= 90) upper = true;
    else if (c >= 97 && c <= 122) lower = true;
  }
  if (hex && length >= 2) return 'hex';
  if (b64 && length >= 16 && digit && upper && lower) return 'base64';
  return null;
}

/** A run of hex words is a dump when it holds both digits and the letters a-f (a run of plain
 * numbers is data, and a run of words like "bead" or "cafe" is prose). */
function hexDump(text: string, start: number, end: number): boolean {
  let digit = false;
  let letter = false;
  for (let i = start; i < end && !(digit && letter); i++) {
    const c = text.charCodeAt(i);
    if (c >= 48 && c <= 57) digit = true;
    else if ((c >= 65 && c <= 70) || (c >= 97 && c <= 102)) letter = true;
  }
  return digit && letter;
}

function hasDigit(text: string, start: number, end: number): boolean {
  for (let i = start; i < end; i++) {
    const c = text.charCodeAt(i);
    if (c >= 48 && c <= 57) return true;
  }
  return false;
}

/** One word of hex characters with digits among them and no space: a dump whose bytes happen to
 * spell no a-f (zeros and a last 01 byte), not a column of numbers. */
function unbrokenDigits(text: string, start: number, end: number): boolean {
  let digit = false;
  for (let i = start; i < end; i++) {
    const c = text.charCodeAt(i);
    if (isSpace(c)) return false;
    if (c >= 48 && c <= 57) digit = true;
  }
  return digit;
}

/** The word repeats a pattern of 1 to 8 characters over all of it but a few characters at its ends
 * (base64 of repeated bytes ends in its padding, a hex of zeros in its last byte). */
function periodic(text: string, start: number, end: number): boolean {
  const length = end - start;
  const slack = Math.max(8, Math.floor(length / 10));
  for (let p = 1; p <= 8; p++) {
    let best = 0;
    let current = 0;
    for (let i = start + p; i < end; i++) {
      if (text.charCodeAt(i) === text.charCodeAt(i - p)) best = Math.max(best, ++current);
      else current = 0;
    }
    if (best + p >= length - slack) return true;
  }
  return false;
}

/**
 * One pass over the words (runs of non-space characters): consecutive words of one kind make a
 * run; a run of at least MIN_RUN_CHARS (from its first word to its last) is left out, with the
 * spaces inside it. A filler word is left out alone; so is a word repeated 16 times or more in a row.
 */
function leaveOutRuns(text: string, state: State): string {
  const n = text.length;
  const keep: string[] = [];
  let kept = 0; // text before this index is decided
  let runKind: Kind = null;
  let runStart = -1;
  let runEnd = -1;
  let previousWord = '';
  let repeatStart = -1;
  let repeats = 0;
  const closeRun = () => {
    runStart = Math.max(runStart, kept);
    if (
      runKind &&
      runEnd - runStart >= MIN_RUN_CHARS &&
      (runKind !== 'hex' || hexDump(text, runStart, runEnd) || unbrokenDigits(text, runStart, runEnd))
    ) {
      keep.push(text.slice(kept, runStart));
      keepSample(state, text.slice(runStart, Math.min(runEnd, runStart + SAMPLE_CHARS)));
      state.leftOut[runKind] += runEnd - runStart;
      state.runs += 1;
      kept = runEnd;
    }
    runKind = null;
  };
  const closeRepeats = (end: number) => {
    if (repeats >= 16 && end - repeatStart >= MIN_FILLER_CHARS && repeatStart >= kept) {
      keep.push(text.slice(kept, repeatStart));
      keepSample(state, text.slice(repeatStart, Math.min(end, repeatStart + SAMPLE_CHARS)));
      state.leftOut.filler += end - repeatStart;
      state.runs += 1;
      kept = end;
    }
    repeats = 0;
  };
  let i = 0;
  let lastWordEnd = 0;
  while (i < n) {
    while (i < n && isSpace(text.charCodeAt(i))) i++;
    if (i >= n) break;
    const start = i;
    while (i < n && !isSpace(text.charCodeAt(i))) i++;
    const kind = wordKind(text, start, i);
    // Repeated words ("lorem lorem lorem ..."): compared only when short, so the pass stays linear.
    const word = i - start <= 32 ? text.slice(start, i) : '';
    if (word && word === previousWord) repeats += 1;
    else {
      closeRepeats(lastWordEnd);
      repeatStart = start;
      repeats = 1;
    }
    previousWord = word;
    lastWordEnd = i;
    if (kind === 'filler') {
      closeRun();
      if (start >= kept) {
        keep.push(text.slice(kept, start));
        keepSample(state, text.slice(start, Math.min(i, start + SAMPLE_CHARS)));
        state.leftOut.filler += i - start;
        state.runs += 1;
        kept = i;
      }
      continue;
    }
    // A hex run starts and ends at a word with a digit: a word of a-f alone beside a dump ("bad",
    // "face") is prose, and stays.
    const solid = kind !== 'hex' || hasDigit(text, start, i);
    if (kind && kind === runKind) {
      if (solid) runEnd = i;
    } else {
      closeRun();
      if (kind && solid) {
        runKind = kind;
        runStart = start;
        runEnd = i;
      }
    }
  }
  closeRun();
  closeRepeats(lastWordEnd);
  if (kept === 0) return text;
  keep.push(text.slice(kept));
  return keep.join('');
}
