// The local parser: in-process, no network. Plain text, Markdown, HTML, PDF (text layer per page),
// DOCX. Failures that no retry can fix (corrupt file, no text layer) are permanent.
import { describe, detectType, decodeText, type DocumentType } from '../../documents/detectType.ts';
import { permanent } from '../../errors.ts';
import { verifiedZip } from '../../documents/verifiedZip.ts';
import { DEFAULT_ZIP_LIMITS, type ZipLimits } from '../../documents/zipLimits.ts';
import type { ParseOutput } from '../types.ts';
import { cleanText } from '../cleanText.ts';

export { LOCAL_PARSER_KINDS } from './kinds.ts';

export async function parseLocally(
  bytes: Uint8Array,
  type: DocumentType = detectType(bytes),
  zipLimits: ZipLimits = DEFAULT_ZIP_LIMITS,
): Promise<ParseOutput> {
  const output = await parseByKind(bytes, type, zipLimits);
  return { ...output, pages: output.pages.map((p) => ({ ...p, markdown: cleanText(p.markdown) })) };
}

async function parseByKind(bytes: Uint8Array, type: DocumentType, zipLimits: ZipLimits): Promise<ParseOutput> {
  switch (type.kind) {
    case 'text':
    case 'markdown':
      return pagesFromText(decodeOrFail(bytes));
    case 'html': {
      // turndown and its DOM load only for HTML and Word documents.
      const { htmlCharset, htmlToMarkdown } = await import('./htmlToMarkdown.ts');
      const text = decodeText(bytes, { fallback: htmlCharset(bytes) ?? 'windows-1252' });
      if (text === null) throw permanent('the HTML file contains binary data');
      return single(htmlToMarkdown(text));
    }
    case 'pdf':
      return parsePdf(bytes);
    case 'docx':
      return parseDocx(bytes, zipLimits);
    default:
      throw permanent(
        `the local parser cannot read ${describe(type)}; configure LlamaParse (LLAMA_CLOUD_API_KEY) for it`,
      );
  }
}

function decodeOrFail(bytes: Uint8Array): string {
  const text = decodeText(bytes);
  if (text === null) throw permanent('the file contains binary data, not text');
  return text;
}

// Form feeds separate pages in plain text exports; without them a text file is one page.
function pagesFromText(text: string): ParseOutput {
  const parts = text.split('\f');
  const pages = parts.map((markdown, i) => ({ page_number: i + 1, markdown })).filter((p) => p.markdown.trim() !== '');
  if (!pages.length) throw permanent('the document contains no text');
  return { pages, failedPages: [], pageCount: parts.length };
}

function single(markdown: string): ParseOutput {
  if (!markdown.trim()) throw permanent('the document contains no text');
  return { pages: [{ page_number: 1, markdown }], failedPages: [], pageCount: 1 };
}

// Page by page, each page's resources freed once its text is read: pdf.js holding every page of a
// 619-page PDF at once (unpdf's extractText) peaked at ~350 MB, page by page at ~150 MB.
async function parsePdf(bytes: Uint8Array): Promise<ParseOutput> {
  const { getDocumentProxy } = await import('unpdf');
  const text: string[] = [];
  let totalPages: number;
  try {
    // pdf.js takes ownership of (and may detach) the buffer it is given: hand it a copy.
    const pdf = await getDocumentProxy(new Uint8Array(bytes), { verbosity: 0 });
    totalPages = pdf.numPages;
    try {
      for (let n = 1; n <= totalPages; n++) {
        const page = await pdf.getPage(n);
        const content = await page.getTextContent();
        text.push(content.items.map((item) => ('str' in item ? item.str + (item.hasEOL ? '\n' : '') : '')).join(''));
        page.cleanup();
      }
    } finally {
      await pdf.loadingTask.destroy();
    }
  } catch (error) {
    const name = (error as Error).name;
    if (name === 'PasswordException')
      throw permanent('the PDF is password-protected; remove the password and ingest it again', { cause: error });
    throw permanent(`corrupt or unreadable PDF (${(error as Error).message}); repair it or parse it with LlamaParse`, {
      cause: error,
    });
  }
  const pages = text.map((t, i) => ({ page_number: i + 1, markdown: t.trim() })).filter((p) => p.markdown !== '');
  if (!pages.length) {
    throw permanent(
      `no text layer: scanned document (${totalPages} page(s) of images); parse it with LlamaParse, which does OCR`,
    );
  }
  return { pages, failedPages: [], pageCount: totalPages };
}

// Word tables have no header cells in mammoth's HTML, and Markdown tables need a header row:
// promote each table's first row.
function headerRows(html: string): string {
  return html.replace(
    /(<table>(?:<thead>|<tbody>)?<tr>)(.*?)(<\/tr>)/g,
    (_m, open: string, row: string, close: string) =>
      `${open}${row.replace(/<td(\s[^>]*)?>/g, '<th$1>').replace(/<\/td>/g, '</th>')}${close}`,
  );
}

// mammoth reads the archive through verifiedZip (the checks intake made, yauzl's inflation), never
// through JSZip: see lib/documents/verifiedZip.ts.
async function parseDocx(bytes: Uint8Array, zipLimits: ZipLimits): Promise<ParseOutput> {
  const mammoth = (await import('mammoth')).default;
  const file = await verifiedZip(bytes, zipLimits, 'the Word document cannot be read');
  try {
    const { htmlToMarkdown } = await import('./htmlToMarkdown.ts');
    // Images are not text: each becomes `![alt](image N)` (through turndown), never its bytes
    // (mammoth's default is a data: URI holding them).
    let images = 0;
    // (mammoth adds the picture's alt text, its description in Word, as `alt`.)
    const convertImage = mammoth.images.imgElement(async () => ({ src: `image ${++images}` }));
    const { value: html } = await mammoth.convertToHtml({ file } as unknown as { buffer: Buffer }, { convertImage });
    return single(htmlToMarkdown(headerRows(html)));
  } catch (error) {
    if ((error as { errorClass?: string }).errorClass) throw error;
    throw permanent(`corrupt or unreadable Word document (${(error as Error).message})`, { cause: error });
  }
}
