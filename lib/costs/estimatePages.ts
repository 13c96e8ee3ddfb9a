// Pages LlamaParse will bill for, counted before uploading: a PDF's page count; for other
// documents, one page per 3,000 characters of text (at least one).
import { detectType, decodeText } from '../documents/detectType.ts';

const CHARS_PER_PAGE = 3000;

export async function estimatePages(bytes: Uint8Array): Promise<number> {
  const type = detectType(bytes);
  if (type.kind === 'pdf') {
    try {
      const { getDocumentProxy } = await import('unpdf');
      const pdf = await getDocumentProxy(new Uint8Array(bytes), { verbosity: 0 });
      return Math.max(1, pdf.numPages);
    } catch {
      return 1; // unreadable here; LlamaParse may still bill the pages it finds
    }
  }
  if (type.kind === 'docx') {
    const mammoth = (await import('mammoth')).default;
    const { value } = await mammoth.extractRawText({ buffer: Buffer.from(bytes) }).catch(() => ({ value: '' }));
    return Math.max(1, Math.ceil(value.length / CHARS_PER_PAGE));
  }
  const text = decodeText(bytes);
  return text === null ? 1 : Math.max(1, Math.ceil(text.length / CHARS_PER_PAGE));
}
