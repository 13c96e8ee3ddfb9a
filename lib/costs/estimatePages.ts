// Pages LlamaParse will bill for, counted before uploading: a PDF's page count; for other
// documents, one page per 3,000 characters of text (at least one).
import { detectType, decodeText } from '../documents/detectType.ts';

const CHARS_PER_PAGE = 3000;

/** How a PDF's page count is read (pdf.js, in the CPU worker threads: lib/cpu/pool.ts). */
export type PdfPageReader = { pdfPages(bytes: Uint8Array): Promise<number | null> };

export async function estimatePages(bytes: Uint8Array, reader: PdfPageReader): Promise<number> {
  const type = detectType(bytes);
  if (type.kind === 'pdf') {
    // Unreadable here (null): 1; LlamaParse may still bill the pages it finds.
    return Math.max(1, (await reader.pdfPages(bytes)) ?? 1);
  }
  if (type.kind === 'docx') {
    const mammoth = (await import('mammoth')).default;
    const { value } = await mammoth.extractRawText({ buffer: Buffer.from(bytes) }).catch(() => ({ value: '' }));
    return Math.max(1, Math.ceil(value.length / CHARS_PER_PAGE));
  }
  const text = decodeText(bytes);
  return text === null ? 1 : Math.max(1, Math.ceil(text.length / CHARS_PER_PAGE));
}
