import test from 'ava';
import { parseLocally } from '../lib/parse/local/parseLocally.ts';
import { StageError } from '../lib/errors.ts';
import { minimalPdf } from '../lib/documents/minimalPdf.ts';
import { HAS_CORPUS, CORPUS_MISSING, corpusFile, corpusTest } from './helpers/corpus.ts';
import { cleanText } from '../lib/parse/cleanText.ts';

// The corpus PDFs by their page count in ../shared/corpus/MANIFEST.md (read with pdfinfo), each
// with a phrase of its text.
const PDFS_BY_PAGE_COUNT: Record<number, Record<string, string>> = {
  1: {
    'pdf/fake-memo.pdf': 'To Whom it May Concern',
    'pdf/header-test-doc.pdf': 'I Am A Header',
    'pdf/a1977-backus-p21.pdf': 'functional',
    'pdf/embedded-images-tables.pdf': 'inhibitor',
    'pdf/korean-text-with-tables.pdf': '적립',
  },
  2: {
    'pdf/layout-parser-paper-fast.pdf': 'LayoutParser',
    'pdf/multi-column-2p.pdf': 'Dense Passage Retrieval',
    'pdf/list-item-example.pdf': 'Module One',
    'pdf/fake-memo-with-duplicate-page.pdf': 'To Whom it May Concern',
    'pdf/copy-protected.pdf': 'LayoutParser',
    'pdf/invalid-pdf-structure-pdfminer-one-page.pdf': 'Leadership',
  },
  76: { 'pdf/failure-after-repair.pdf': 'cancer' },
};

corpusTest('corpus PDFs parse with the page counts MANIFEST.md gives, one markdown page each', async (t) => {
  for (const [pages, phrases] of Object.entries(PDFS_BY_PAGE_COUNT))
    for (const [file, phrase] of Object.entries(phrases)) {
      const out = await parseLocally(corpusFile(file));
      t.is(out.pageCount, Number(pages), file);
      t.true(
        out.pages.some((p) => p.markdown.includes(phrase)),
        `${file} contains "${phrase}"`,
      );
    }
});

corpusTest('the 619-page PDF parses page by page', async (t) => {
  const out = await parseLocally(corpusFile('pdf/DA-619p.pdf'));
  t.is(out.pageCount, 619);
  t.is(out.pages.length, 619);
});

corpusTest('scanned PDFs and corrupt PDFs fail permanently with an actionable reason', async (t) => {
  for (const file of ['pdf/loremipsum-flat.pdf', 'pdf/table-multi-row-column-cells.pdf']) {
    const error = (await t.throwsAsync(parseLocally(corpusFile(file)))) as StageError;
    t.is(error.errorClass, 'permanent');
    t.regex(error.message, /no text layer: scanned document.*LlamaParse/);
  }
  const corrupt = (await t.throwsAsync(parseLocally(corpusFile('bad/truncated.pdf')))) as StageError;
  t.is(corrupt.errorClass, 'permanent');
  t.regex(corrupt.message, /corrupt or unreadable PDF/);
});

corpusTest('text encodings: UTF-8, UTF-16 with BOM, legacy cp1252 HTML by its charset', async (t) => {
  t.regex((await parseLocally(corpusFile('text/fake-text-utf-16.txt'))).pages[0]!.markdown, /This is a test document/);
  t.regex((await parseLocally(corpusFile('text/norwich-city.txt'))).pages[0]!.markdown, /Iwan Roberts/);
  const cp1252 = (await parseLocally(corpusFile('html/fake-html-cp1252.html'))).pages[0]!.markdown;
  t.regex(cp1252, /^# My First Heading/);
  t.false(cp1252.includes('\ufffd'), 'no replacement characters');
  t.regex((await parseLocally(corpusFile('html/fake-html-lang-de.html'))).pages[0]!.markdown, /Geschäftsjahr/);
});

corpusTest('DOCX becomes Markdown, tables included; HTML tables too', async (t) => {
  const docx = (await parseLocally(corpusFile('docx/docx-tables.docx'))).pages[0]!.markdown;
  t.regex(docx, /\| Header Col 1 \|/);
  const tenK = (await parseLocally(corpusFile('html/example-10k.html'))).pages[0]!.markdown;
  t.regex(tenK, /SECURITIES AND EXCHANGE COMMISSION/);
  t.false(tenK.startsWith('<?xml'));
});

test('generated PDFs: one page per page; text is cleaned of NUL and lone surrogates', async (t) => {
  const out = await parseLocally(minimalPdf([['alpha page'], ['beta page'], ['gamma page']]));
  t.deepEqual(
    out.pages.map((p) => p.markdown),
    ['alpha page', 'beta page', 'gamma page'],
  );
  t.is(cleanText('a\u0000b\ud800c'), 'ab\ufffdc');
});

test('plain text splits into pages at form feeds', async (t) => {
  const out = await parseLocally(Buffer.from('one\ftwo\f\fthree'));
  t.is(out.pageCount, 4);
  t.deepEqual(
    out.pages.map((p) => p.page_number),
    [1, 2, 4],
  );
});
