// Generated PPTX and XLSX files (the corpus has none that open), through the test ZIP writer: the parts a parser reads to find
// slides and sheets, each slide or sheet with its own text.
import { zip, type ZipEntry } from './zip.ts';

const CONTENT_TYPES = (kind: 'pptx' | 'xlsx') =>
  `<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="xml" ContentType="application/xml"/><Override PartName="${
    kind === 'pptx' ? '/ppt/presentation.xml' : '/xl/workbook.xml'
  }" ContentType="application/vnd.openxmlformats-officedocument.${
    kind === 'pptx' ? 'presentationml.presentation.main+xml' : 'spreadsheetml.sheet.main+xml'
  }"/></Types>`;

const file = (name: string, text: string): ZipEntry => ({ name, data: Buffer.from(text) });

export function makePptx(slides: number, label = 'deck'): Buffer {
  const entries: ZipEntry[] = [
    file('[Content_Types].xml', CONTENT_TYPES('pptx')),
    file(
      'ppt/presentation.xml',
      '<p:presentation xmlns:p="http://schemas.openxmlformats.org/presentationml/2006/main"/>',
    ),
  ];
  for (let n = 1; n <= slides; n++)
    entries.push(
      file(
        `ppt/slides/slide${n}.xml`,
        `<p:sld xmlns:p="p" xmlns:a="a"><p:cSld><p:spTree><p:sp><p:txBody><a:p><a:r><a:t>${label} slide ${n} of ${slides}</a:t></a:r></a:p></p:txBody></p:sp></p:spTree></p:cSld></p:sld>`,
      ),
    );
  return zip(entries);
}

export function makeXlsx(sheets: number, label = 'book'): Buffer {
  const entries: ZipEntry[] = [
    file('[Content_Types].xml', CONTENT_TYPES('xlsx')),
    file('xl/workbook.xml', '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"/>'),
  ];
  for (let n = 1; n <= sheets; n++)
    entries.push(
      file(
        `xl/worksheets/sheet${n}.xml`,
        `<worksheet><sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>${label} sheet ${n}</t></is></c></row></sheetData></worksheet>`,
      ),
    );
  return zip(entries);
}

/** A text file of `pages` pages separated by form feeds. */
export const formFeedText = (pages: number, label = 'text') =>
  Buffer.from(
    Array.from({ length: pages }, (_, i) => `${label} page ${i + 1}: ${'lorem ipsum '.repeat(3)}`).join('\f'),
  );
