// What a document is, decided from its bytes (magic numbers, BOM, markup), never its file name.
export type DocumentType =
  | { kind: 'pdf'; mediaType: 'application/pdf' }
  | { kind: 'docx'; mediaType: 'application/vnd.openxmlformats-officedocument.wordprocessingml.document' }
  | { kind: 'html'; mediaType: 'text/html' }
  | { kind: 'markdown'; mediaType: 'text/markdown' }
  | { kind: 'text'; mediaType: 'text/plain' }
  | { kind: 'pptx'; mediaType: 'application/vnd.openxmlformats-officedocument.presentationml.presentation' }
  | { kind: 'xlsx'; mediaType: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet' }
  | { kind: 'image'; mediaType: 'image/png' | 'image/jpeg' | 'image/gif' | 'image/tiff' | 'image/webp' }
  | { kind: 'unknown'; mediaType: 'application/octet-stream'; description: string };

export type DocumentKind = DocumentType['kind'];

/** A type as people name it, for refusals: "PowerPoint presentations", "application/pdf". */
export function describe(type: DocumentType): string {
  if (type.kind === 'unknown') return type.description;
  const names: Record<string, string> = {
    pptx: 'PowerPoint presentations',
    xlsx: 'Excel workbooks',
    image: `images (${type.mediaType})`,
  };
  return names[type.kind] ?? type.mediaType;
}

const startsWith = (bytes: Uint8Array, magic: number[], offset = 0) => magic.every((b, i) => bytes[offset + i] === b);

/** How much of a file type detection reads: it never looks further (a hard bound on its work). */
export const SNIFF_BYTES = 8192;

/** A ZIP container (DOCX, PPTX, XLSX are ZIPs): its kind comes from its entry names. */
export const isZip = (head: Uint8Array) => startsWith(head, [0x50, 0x4b, 0x03, 0x04]);

/**
 * The type of a document from its first bytes (only the first SNIFF_BYTES are read). For a ZIP
 * container the entry names decide; given the whole file they are found in its bytes, given only
 * the head, `zipKind` of the central directory's names (see inspectZip) decides instead.
 */
export function detectType(bytes: Uint8Array): DocumentType {
  const head = Buffer.from(bytes.subarray(0, SNIFF_BYTES));
  if (head.subarray(0, 1024).includes('%PDF-')) return { kind: 'pdf', mediaType: 'application/pdf' };
  if (isZip(head))
    return zipKind((name) => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).includes(name));
  if (startsWith(head, [0x89, 0x50, 0x4e, 0x47])) return { kind: 'image', mediaType: 'image/png' };
  if (startsWith(head, [0xff, 0xd8, 0xff])) return { kind: 'image', mediaType: 'image/jpeg' };
  if (head.subarray(0, 6).toString('latin1').startsWith('GIF8')) return { kind: 'image', mediaType: 'image/gif' };
  if (startsWith(head, [0x49, 0x49, 0x2a, 0x00]) || startsWith(head, [0x4d, 0x4d, 0x00, 0x2a]))
    return { kind: 'image', mediaType: 'image/tiff' };
  if (head.subarray(0, 4).toString('latin1') === 'RIFF' && head.subarray(8, 12).toString('latin1') === 'WEBP')
    return { kind: 'image', mediaType: 'image/webp' };
  if (startsWith(head, [0xd0, 0xcf, 0x11, 0xe0]))
    return {
      kind: 'unknown',
      mediaType: 'application/octet-stream',
      description: 'a legacy Microsoft Office (OLE) file',
    };
  const text = decodeText(head, { sample: true });
  if (text === null)
    return {
      kind: 'unknown',
      mediaType: 'application/octet-stream',
      description: 'binary content of an unrecognised type',
    };
  return classifyText(text);
}

/** The kind of a ZIP container from its entry names (`has`: is there an entry starting so). */
export function zipKind(has: (prefix: string) => boolean): DocumentType {
  if (has('word/'))
    return { kind: 'docx', mediaType: 'application/vnd.openxmlformats-officedocument.wordprocessingml.document' };
  if (has('ppt/'))
    return { kind: 'pptx', mediaType: 'application/vnd.openxmlformats-officedocument.presentationml.presentation' };
  if (has('xl/'))
    return { kind: 'xlsx', mediaType: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet' };
  return {
    kind: 'unknown',
    mediaType: 'application/octet-stream',
    description: 'a ZIP archive that is not a Word document',
  };
}

// Everything below runs on the decoded head only (at most SNIFF_BYTES bytes), and in linear time:
// no regular expression with nested or adjacent quantifiers that can match the same characters,
// none whose whitespace classes cross lines (the old `(<!--[\s\S]*?-->\s*)*` took 5.5 s on 211
// bytes; a property test feeds adversarial input to all of it).
const HTML_START = /^<(h[1-6]|p|div|table|span|section|article|meta|title|ul|ol)[\s>]/;
const HEADING_LINE = /^#{1,6} \S/;

export function classifyText(text: string): DocumentType {
  const start = skipPrologue(text.slice(0, 4096).toLowerCase());
  if (start.startsWith('<!doctype html') || /<html[\s>]/.test(start) || /<(head|body)[\s>]/.test(start))
    return { kind: 'html', mediaType: 'text/html' };
  if (HTML_START.test(start)) return { kind: 'html', mediaType: 'text/html' };
  for (const line of text.split('\n')) {
    if (HEADING_LINE.test(line) || isTableRow(line) || line.startsWith('```') || isTableRule(line))
      return { kind: 'markdown', mediaType: 'text/markdown' };
  }
  return { kind: 'text', mediaType: 'text/plain' };
}

/** Past leading whitespace, an XML declaration and comments (each found with indexOf: linear). */
function skipPrologue(text: string): string {
  let i = 0;
  for (;;) {
    while (i < text.length && isSpace(text.charCodeAt(i))) i++;
    const close = text.startsWith('<?xml', i) ? '>' : text.startsWith('<!--', i) ? '-->' : null;
    if (close === null) return text.slice(i);
    const end = text.indexOf(close, i + 4);
    if (end < 0) return '';
    i = end + close.length;
  }
}

const isSpace = (c: number) => c === 0x20 || (c >= 0x09 && c <= 0x0d) || c === 0xa0 || c === 0xfeff;

/** A line that starts and ends with a pipe (trimEnd, not `\\|[ \\t]*$`: that backtracks per pipe). */
function isTableRow(line: string): boolean {
  const t = line.trimEnd();
  return t.length >= 2 && t.startsWith('|') && t.endsWith('|');
}

/** A Markdown table's delimiter row (`| --- | :---: |`): at least two cells of dashes. */
export function isTableRule(line: string): boolean {
  let body = line.trim();
  if (!body.includes('-')) return false;
  if (body.startsWith('|')) body = body.slice(1);
  if (body.endsWith('|')) body = body.slice(0, -1);
  const cells = body.split('|');
  return cells.length >= 2 && cells.every((cell) => /^:?-{3,}:?$/.test(cell.trim()));
}

/**
 * Text from bytes: UTF-8 or UTF-16 by BOM, UTF-16 without a BOM when its zero bytes say so (text in
 * a Latin script has a zero high byte in nearly every code unit, always on the same side), UTF-8
 * when valid, else Windows-1252 (the usual legacy 8-bit encoding, a superset of Latin-1). Returns
 * null for binary (NUL bytes that are not UTF-16). With `sample`, a multi-byte sequence cut at the
 * end of the sample is tolerated.
 */
export function decodeText(bytes: Uint8Array, options: { sample?: boolean; fallback?: string } = {}): string | null {
  if (startsWith(bytes, [0xef, 0xbb, 0xbf])) return new TextDecoder('utf-8').decode(bytes.subarray(3));
  if (startsWith(bytes, [0xff, 0xfe])) return new TextDecoder('utf-16le').decode(bytes.subarray(2));
  if (startsWith(bytes, [0xfe, 0xff])) return new TextDecoder('utf-16be').decode(bytes.subarray(2));
  if (bytes.subarray(0, SNIFF_BYTES).includes(0)) {
    const encoding = utf16WithoutBom(bytes.subarray(0, SNIFF_BYTES));
    if (!encoding) return null;
    const text = new TextDecoder(encoding).decode(options.sample ? bytes.subarray(0, bytes.length & ~1) : bytes);
    return looksLikeText(text) ? text : null;
  }
  try {
    const body = options.sample ? trimPartialUtf8(bytes) : bytes;
    return new TextDecoder('utf-8', { fatal: true }).decode(body);
  } catch {
    return new TextDecoder(options.fallback ?? 'windows-1252').decode(bytes);
  }
}

/** The byte order of BOM-less UTF-16, when zeros sit on one side of (nearly) every code unit. */
export function utf16WithoutBom(sample: Uint8Array): 'utf-16le' | 'utf-16be' | null {
  const units = Math.floor(sample.length / 2);
  if (units < 2) return null;
  let evenZeros = 0;
  let oddZeros = 0;
  for (let i = 0; i < units * 2; i += 2) {
    if (sample[i] === 0) evenZeros++;
    if (sample[i + 1] === 0) oddZeros++;
  }
  // Half the code units or more in the Latin-1 range; the other side's zeros would be U+xx00
  // characters or NUL: allow a few.
  if (oddZeros >= units / 2 && evenZeros <= units / 100) return 'utf-16le';
  if (evenZeros >= units / 2 && oddZeros <= units / 100) return 'utf-16be';
  return null;
}

// Decoded UTF-16 that is mostly control characters or replacement characters is binary after all.
function looksLikeText(text: string): boolean {
  let odd = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if ((c < 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0c && c !== 0x0d) || c === 0xfffd) odd++;
  }
  return odd <= text.length / 100;
}

function trimPartialUtf8(bytes: Uint8Array): Uint8Array {
  let end = bytes.length;
  for (let i = 1; i <= 3 && end - i >= 0; i++) {
    const b = bytes[end - i]!;
    if ((b & 0xc0) === 0x80) continue; // continuation byte
    if (b >= 0xc0) end -= i; // a lead byte whose sequence may be incomplete: drop it
    break;
  }
  return bytes.subarray(0, end);
}
