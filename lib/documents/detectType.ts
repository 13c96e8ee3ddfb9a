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

export function detectType(bytes: Uint8Array): DocumentType {
  const head = Buffer.from(bytes.subarray(0, 8192));
  if (head.subarray(0, 1024).includes('%PDF-')) return { kind: 'pdf', mediaType: 'application/pdf' };
  if (startsWith(head, [0x50, 0x4b, 0x03, 0x04])) return detectZip(Buffer.from(bytes));
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

function detectZip(bytes: Buffer): DocumentType {
  // Entry names are stored in clear in the local headers and the central directory.
  if (bytes.includes('word/document.xml') || bytes.includes('word/'))
    return { kind: 'docx', mediaType: 'application/vnd.openxmlformats-officedocument.wordprocessingml.document' };
  if (bytes.includes('ppt/'))
    return { kind: 'pptx', mediaType: 'application/vnd.openxmlformats-officedocument.presentationml.presentation' };
  if (bytes.includes('xl/'))
    return { kind: 'xlsx', mediaType: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet' };
  return {
    kind: 'unknown',
    mediaType: 'application/octet-stream',
    description: 'a ZIP archive that is not a Word document',
  };
}

const MARKDOWN_TABLE_RULE = /^\s*\|?\s*:?-{3,}:?\s*(\|\s*:?-{3,}:?\s*)+\|?\s*$/m;

function classifyText(text: string): DocumentType {
  const start = text.slice(0, 4096).replace(/^\s+/, '').toLowerCase();
  if (
    /^(<\?xml[^>]*>\s*)?(<!--[\s\S]*?-->\s*)*<!doctype html/.test(start) ||
    /<html[\s>]/.test(start) ||
    /<(head|body)[\s>]/.test(start)
  )
    return { kind: 'html', mediaType: 'text/html' };
  if (/^<(h[1-6]|p|div|table|span|section|article|meta|title|ul|ol)[\s>]/.test(start))
    return { kind: 'html', mediaType: 'text/html' };
  if (/^#{1,6} \S/m.test(text) || /^\|.*\|\s*$/m.test(text) || /^```/m.test(text) || MARKDOWN_TABLE_RULE.test(text))
    return { kind: 'markdown', mediaType: 'text/markdown' };
  return { kind: 'text', mediaType: 'text/plain' };
}

/**
 * Text from bytes: UTF-8 or UTF-16 by BOM, UTF-8 when valid, else Windows-1252 (the usual legacy
 * 8-bit encoding, a superset of Latin-1). Returns null for binary (NUL bytes outside UTF-16).
 * With `sample`, a multi-byte sequence cut at the end of the sample is tolerated.
 */
export function decodeText(bytes: Uint8Array, options: { sample?: boolean; fallback?: string } = {}): string | null {
  if (startsWith(bytes, [0xef, 0xbb, 0xbf])) return new TextDecoder('utf-8').decode(bytes.subarray(3));
  if (startsWith(bytes, [0xff, 0xfe])) return new TextDecoder('utf-16le').decode(bytes.subarray(2));
  if (startsWith(bytes, [0xfe, 0xff])) return new TextDecoder('utf-16be').decode(bytes.subarray(2));
  if (bytes.subarray(0, 8192).includes(0)) return null;
  try {
    const body = options.sample ? trimPartialUtf8(bytes) : bytes;
    return new TextDecoder('utf-8', { fatal: true }).decode(body);
  } catch {
    return new TextDecoder(options.fallback ?? 'windows-1252').decode(bytes);
  }
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
