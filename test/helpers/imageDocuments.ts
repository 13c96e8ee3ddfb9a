// Documents with pictures for the issue-23 tests (and the real-API suite): a Word file holding PNG,
// JPEG and EMF pictures (with descriptions, Word's alt text), an HTML page with data: URI images and
// an inline SVG, and Markdown with base64 image links. The pictures are ~30 KB of bytes each:
// embedded as text they would be ~40 KB of base64 apiece.
import { randomBytes } from 'node:crypto';
import { zip } from './zip.ts';

const picture = (header: number[], size = 30_000, seed = 0) =>
  Buffer.concat([Buffer.from(header), randomBytes(size - header.length).map((b) => (b + seed) & 0xff)]);
export const PNG = () => picture([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
export const JPEG = () => picture([0xff, 0xd8, 0xff, 0xe0]);
export const EMF = () => picture([0x01, 0x00, 0x00, 0x00]);

const W = 'http://schemas.openxmlformats.org/wordprocessingml/2006/main';
const R = 'http://schemas.openxmlformats.org/officeDocument/2006/relationships';

const drawing = (rId: string, n: number, descr: string) =>
  `<w:p><w:r><w:drawing><wp:inline><wp:extent cx="990000" cy="990000"/><wp:docPr id="${n}" name="Picture ${n}" descr="${descr}"/><a:graphic><a:graphicData uri="http://schemas.openxmlformats.org/drawingml/2006/picture"><pic:pic><pic:nvPicPr><pic:cNvPr id="${n}" name="p${n}"/><pic:cNvPicPr/></pic:nvPicPr><pic:blipFill><a:blip r:embed="${rId}"/></pic:blipFill></pic:pic></a:graphicData></a:graphic></wp:inline></w:drawing></w:r></w:p>`;
const para = (text: string) => `<w:p><w:r><w:t xml:space="preserve">${text}</w:t></w:r></w:p>`;

/** A Word file: paragraphs of `phrases`, and a PNG, a JPEG and an EMF picture between them. */
export function docxWithPictures(phrases: string[] = ['The harbour master keeps the tide tables.']): Buffer {
  const pictures = [
    { rId: 'rId10', file: 'image1.png', type: 'png', descr: 'A chart of monthly tides', bytes: PNG() },
    { rId: 'rId11', file: 'image2.jpeg', type: 'jpeg', descr: 'Photograph of the lighthouse', bytes: JPEG() },
    { rId: 'rId12', file: 'image3.emf', type: 'emf', descr: '', bytes: EMF() },
  ];
  const body = [
    `<w:p><w:pPr><w:pStyle w:val="Heading1"/></w:pPr><w:r><w:t>Harbour report</w:t></w:r></w:p>`,
    ...phrases.map(para),
    drawing('rId10', 1, pictures[0]!.descr),
    para('The lighthouse was repainted in the spring.'),
    drawing('rId11', 2, pictures[1]!.descr),
    para('A diagram of the breakwater follows.'),
    drawing('rId12', 3, ''),
    para('End of the harbour report.'),
  ].join('');
  const file = (name: string, text: string) => ({ name, data: Buffer.from(text) });
  return zip([
    file(
      '[Content_Types].xml',
      `<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Default Extension="png" ContentType="image/png"/><Default Extension="jpeg" ContentType="image/jpeg"/><Default Extension="emf" ContentType="image/x-emf"/><Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>`,
    ),
    file(
      '_rels/.rels',
      `<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="${R}/officeDocument" Target="word/document.xml"/></Relationships>`,
    ),
    file(
      'word/document.xml',
      `<?xml version="1.0" encoding="UTF-8"?><w:document xmlns:w="${W}" xmlns:r="${R}" xmlns:wp="http://schemas.openxmlformats.org/drawingml/2006/wordprocessingDrawing" xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main" xmlns:pic="http://schemas.openxmlformats.org/drawingml/2006/picture"><w:body>${body}</w:body></w:document>`,
    ),
    file(
      'word/_rels/document.xml.rels',
      `<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">${pictures
        .map((p) => `<Relationship Id="${p.rId}" Type="${R}/image" Target="media/${p.file}"/>`)
        .join('')}</Relationships>`,
    ),
    ...pictures.map((p) => ({ name: `word/media/${p.file}`, data: p.bytes })),
  ]);
}

const prose = (topic: string, n: number) =>
  Array.from(
    { length: n },
    (_, i) => `Paragraph ${i} on ${topic}: the ${topic} survey records ${topic} findings.`,
  ).join(' ');

/** An HTML page with two data: URI images (one with alt text) and an inline SVG with a title. */
export function htmlWithImages(): Buffer {
  const b64 = PNG().toString('base64');
  return Buffer.from(`<!doctype html><html><body><h1>Orchard survey</h1><p>${prose('orchard', 6)}</p>
<p><img alt="Apple blossom" src="data:image/png;base64,${b64}"></p>
<p>${prose('pruning', 4)}</p><img src="data:image/jpeg;base64,${JPEG().toString('base64')}">
<svg xmlns="http://www.w3.org/2000/svg" width="100" height="100"><title>Yield per tree</title><rect width="10" height="40"/><text x="1" y="2">Q1 yield</text><path d="${'M 10 10 L 20 20 '.repeat(400)}"/></svg>
<p>${prose('harvest', 4)}</p></body></html>`);
}

/** Markdown with base64 image links, a base64 attachment link, a stray blob, a hex dump and filler. */
export function markdownWithImages(): Buffer {
  const hexDump = Array.from(
    { length: 40 },
    (_, i) => `${(i * 16).toString(16).padStart(8, '0')}: ${randomBytes(16).toString('hex').replace(/(..)/g, '$1 ')}`,
  ).join('\n');
  return Buffer.from(`# Beehive log

${prose('beehive', 5)}

![Queen cell](data:image/png;base64,${PNG().toString('base64')})

${prose('honey', 4)} [the raw export](data:application/octet-stream;base64,${randomBytes(6000).toString('base64')})

${randomBytes(9000).toString('base64')}

\`\`\`
${hexDump}
\`\`\`

${'='.repeat(500)}

${prose('swarm', 4)}
`);
}

/** A base64 fragment of each picture's bytes: no chunk may contain one. */
export const looksLikeImageBytes = (text: string) => /[A-Za-z0-9+/]{120,}/.test(text);
