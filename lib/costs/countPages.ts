// Pages a document has as a parser counts them, before anything is uploaded: the most LlamaParse can
// bill for it. No database, no network: bytes in, a count out.
//   text, Markdown   form feeds separate pages (the local parser and LlamaParse split on them): exact
//   PPTX             one page per slide (ppt/slides/slideN.xml in the zip's directory): exact
//   XLSX             one page per sheet (xl/worksheets/sheetN.xml): exact
//   PDF              pdf.js's page count: exact; a PDF pdf.js cannot open has no count (refused)
//   DOCX, HTML       one page per 3,000 characters of text (DOCX: of its runs in document.xml; or
//                    the page count Word saved, its page breaks, one page per 12 paragraphs,
//                    whichever is largest), doubled plus
//                    one as headroom: an estimate, not exact (the collector fails a job whose cap
//                    LlamaParse filled rather than drop pages silently)
//   image            one page
// It runs in the CPU worker threads (lib/cpu/work.ts), with their time and memory limits; a ZIP
// container is read through verifiedZip (the intake checks), never by mammoth's own reader.
import { decodeText, detectType } from '../documents/detectType.ts';
import { verifiedZip, type VerifiedZip } from '../documents/verifiedZip.ts';
import { DEFAULT_ZIP_LIMITS, type ZipLimits } from '../documents/zipLimits.ts';

export const CHARS_PER_PAGE = 3000;
const PARAGRAPHS_PER_PAGE = 12;

/** How a PDF's page count is read (pdf.js, in the CPU worker threads: lib/cpu/pool.ts). */
export type PdfPageReader = { pdfPages(bytes: Uint8Array): Promise<number | null> };

export type PageCount =
  | { pages: number; exact: boolean; how: string }
  /** No count can be given: the document must stay off a paid parser (reason says why). */
  | { pages: null; reason: string };

export async function countPages(
  bytes: Uint8Array,
  reader: PdfPageReader,
  zipLimits: ZipLimits = DEFAULT_ZIP_LIMITS,
): Promise<PageCount> {
  const type = detectType(bytes);
  switch (type.kind) {
    case 'pdf': {
      const pages = await reader.pdfPages(bytes);
      return pages === null || pages < 1
        ? {
            pages: null,
            reason:
              'pdf.js cannot open this PDF, so its pages cannot be counted and what LlamaParse would bill for it cannot be bounded; repair it (e.g. qpdf or a re-export) and ingest it again',
          }
        : { pages, exact: true, how: 'PDF page tree (pdf.js)' };
    }
    case 'text':
    case 'markdown': {
      const text = decodeText(bytes);
      return text === null
        ? { pages: 1, exact: false, how: 'undecodable text' }
        : { pages: formFeedPages(text), exact: true, how: 'form feeds' };
    }
    case 'pptx':
    case 'xlsx': {
      const zip = await openVerified(bytes, zipLimits, type.kind);
      if ('reason' in zip) return { pages: null, reason: zip.reason };
      const names = zip.names;
      const pattern = type.kind === 'pptx' ? /^ppt\/slides\/slide\d+\.xml$/ : /^xl\/worksheets\/sheet\d+\.xml$/;
      const pages = names.filter((n) => pattern.test(n)).length;
      return { pages: Math.max(1, pages), exact: true, how: type.kind === 'pptx' ? 'slides' : 'sheets' };
    }
    case 'docx': {
      const zip = await openVerified(bytes, zipLimits, type.kind);
      if ('reason' in zip) return { pages: null, reason: zip.reason };
      const layout = await docxLayout(zip);
      const estimate = Math.max(
        1,
        Math.ceil(layout.characters / CHARS_PER_PAGE),
        layout.saved,
        layout.breaks + 1,
        Math.ceil(layout.paragraphs / PARAGRAPHS_PER_PAGE),
      );
      return {
        pages: headroom(estimate),
        exact: false,
        how: 'the largest of characters / 3,000, the saved page count, page breaks and paragraphs / 12, doubled plus one',
      };
    }
    case 'image':
      return { pages: 1, exact: true, how: 'an image is one page' };
    default: {
      const text = decodeText(bytes);
      return {
        pages: headroom(text === null ? 1 : Math.max(1, Math.ceil(text.length / CHARS_PER_PAGE))),
        exact: false,
        how: 'characters / 3,000, doubled plus one',
      };
    }
  }
}

/** An estimated count made into a cap with room to spare. */
const headroom = (estimate: number) => estimate * 2 + 1;

/** Pages of a text as the parsers split it: one more than its form feeds. */
export const formFeedPages = (text: string) => text.split('\f').length;

/** The archive through the intake checks, or why it cannot be counted (kept off a paid parser). */
async function openVerified(
  bytes: Uint8Array,
  limits: ZipLimits,
  kind: string,
): Promise<VerifiedZip | { reason: string }> {
  try {
    return await verifiedZip(bytes, limits, `the ${kind.toUpperCase()} file's pages cannot be counted`);
  } catch (error) {
    return { reason: (error as Error).message };
  }
}

/** Page signals in a DOCX: the page count Word saved (docProps/app.xml <Pages>), explicit page
 * breaks and paragraphs (word/document.xml). Nothing here is a bound: the caller adds headroom. */
async function docxLayout(
  zip: VerifiedZip,
): Promise<{ saved: number; breaks: number; paragraphs: number; characters: number }> {
  const found = { saved: 0, breaks: 0, paragraphs: 0, characters: 0 };
  try {
    if (zip.exists('docProps/app.xml'))
      found.saved = Number(/<Pages>(\d+)<\/Pages>/.exec(await zip.read('docProps/app.xml', 'utf-8'))?.[1] ?? 0);
    if (zip.exists('word/document.xml')) {
      const xml = await zip.read('word/document.xml', 'utf-8');
      found.breaks = (xml.match(/w:type="page"|<w:pageBreakBefore\b/g) ?? []).length;
      found.paragraphs = (xml.match(/<w:p[ >]/g) ?? []).length;
      // The text's characters: what the runs' <w:t> elements hold (entities counted as written, so
      // a little over), plus a line break per paragraph, as mammoth's raw text has them. A scan of
      // the XML, not mammoth: its document tree of 20 MB of XML needed over 256 MB.
      for (const [, text] of xml.matchAll(/<w:t(?:\s[^>]*)?>([^<]*)<\/w:t>/g)) found.characters += text!.length;
      found.characters += found.paragraphs * 2;
    }
    return found;
  } catch {
    return found;
  }
}
