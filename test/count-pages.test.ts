// Pages counted before a paid parse, the way the parser counts them (issue 15): on real corpus
// files and generated ones, compared with what the local parser and the LlamaParse emulator find.
import test from 'ava';
import { countPages, type PdfPageReader } from '../lib/costs/countPages.ts';
import { parseLocally } from '../lib/parse/local/parseLocally.ts';
import { officePages } from '../emulators/llamaparse/officePages.ts';
import { HAS_CORPUS, corpusFile, corpusTest } from './helpers/corpus.ts';
import { formFeedText, makePptx, makeXlsx } from './helpers/officeFiles.ts';

// pdf.js, as the CPU workers read a page count (lib/cpu/work.ts).
const pdfjs: PdfPageReader = {
  async pdfPages(bytes) {
    const { getDocumentProxy } = await import('unpdf');
    try {
      const pdf = await getDocumentProxy(new Uint8Array(bytes), { verbosity: 0 });
      const pages = pdf.numPages;
      await pdf.loadingTask.destroy();
      return pages;
    } catch {
      return null;
    }
  },
};

test('a text file full of form feeds counts one page per form feed plus one, as the parser splits it', async (t) => {
  for (const pages of [1, 2, 201, 1000]) {
    const bytes = formFeedText(pages);
    const count = await countPages(bytes, pdfjs);
    t.like(count, { pages, exact: true });
    t.is((await parseLocally(bytes)).pageCount, pages, 'the parser finds as many');
  }
  // Empty pages between form feeds are pages too (LlamaParse bills them).
  const sparse = Buffer.from('first\f\f\f\flast');
  t.like(await countPages(sparse, pdfjs), { pages: 5, exact: true });
  t.is((await parseLocally(sparse)).pageCount, 5);
});

test('PPTX slides and XLSX sheets are counted from the zip, as the emulated parser reads them', async (t) => {
  for (const slides of [1, 7, 300]) {
    const deck = makePptx(slides);
    t.like(await countPages(deck, pdfjs), { pages: slides, exact: true, how: 'slides' });
    t.is((await officePages(deck, 'pptx')).pageCount, slides);
  }
  const book = makeXlsx(4);
  t.like(await countPages(book, pdfjs), { pages: 4, exact: true, how: 'sheets' });
  t.is((await officePages(book, 'xlsx')).pageCount, 4);
});

corpusTest('real corpus files: the count is what the local parser finds', async (t) => {
  for (const file of [
    'text/book-war-and-peace-1225p.txt',
    'text/norwich-city.txt',
    'text/simple-table.md',
    'pdf/DA-619p.pdf',
    'pdf/multi-column-2p.pdf',
    'pdf/fake-memo.pdf',
    'pdf/layout-parser-paper-fast.pdf',
  ]) {
    const bytes = corpusFile(file);
    const count = await countPages(bytes, pdfjs);
    const parsed = await parseLocally(bytes);
    t.like(count, { pages: parsed.pageCount, exact: true }, file);
  }
});

corpusTest('a PDF pdf.js cannot open has no count and says why; a Word file is a capped estimate', async (t) => {
  const truncated = await countPages(corpusFile('bad/truncated.pdf'), pdfjs);
  t.is(truncated.pages, null);
  t.regex((truncated as { reason: string }).reason, /pdf\.js cannot open this PDF.*cannot be bounded/);
  const handbook = await countPages(corpusFile('docx/handbook-872p.docx'), pdfjs);
  t.false((handbook as { exact: boolean }).exact);
  t.true((handbook.pages ?? 0) >= 872, `handbook-872p.docx capped at ${handbook.pages} pages`);
});
