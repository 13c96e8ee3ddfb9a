// One reading of a ZIP container, whoever reads it: an archive that two ZIP readers could read
// differently is refused before anything inflates it. Readers disagree where the format leaves
// room: yauzl takes the central directory's offset as written, JSZip (mammoth's) shifts every
// offset by any gap between the central directory and its end record, so one file can carry a
// harmless directory for one reader and a zip bomb for the other. Refused here, with the reason:
// bytes before the first entry, bytes between the central directory and its end record (or its
// ZIP64 record), entries that overlap or leave bytes between them, a local header that does not
// match its central record (name, method, encryption, sizes), and duplicate names (compared as
// OPC compares part names: without regard to case).
import type yauzl from 'yauzl';
import type { DocumentSource } from './documentSource.ts';

const EOCD = 0x06054b50;
const ZIP64_LOCATOR = 0x07064b50;
const ZIP64_EOCD = 0x06064b50;
const LOCAL_HEADER = 0x04034b50;
const DATA_DESCRIPTOR = 0x08074b50;

const u64 = (b: Buffer, at: number) => Number(b.readBigUInt64LE(at));

/** Where the central directory must end: at the end record, or at the ZIP64 record before it. */
async function directoryEnd(
  source: DocumentSource,
): Promise<{ cdOffset: number; cdEnd: number; end: number } | string> {
  const tailLength = Math.min(source.size, 22 + 20 + 0xffff);
  const tailStart = source.size - tailLength;
  const tail = await source.read(tailStart, tailLength);
  let i = tail.length - 22;
  while (i >= 0 && tail.readUInt32LE(i) !== EOCD) i -= 1; // the last one, as yauzl and JSZip look
  if (i < 0) return 'no end of central directory record';
  const eocd = tailStart + i;
  let cdSize = tail.readUInt32LE(i + 12);
  let cdOffset = tail.readUInt32LE(i + 16);
  if (i >= 20 && tail.readUInt32LE(i - 20) === ZIP64_LOCATOR) {
    const recordOffset = u64(tail, i - 20 + 8);
    const record = await source.read(recordOffset, 56);
    if (record.length < 56 || record.readUInt32LE(0) !== ZIP64_EOCD) return 'a broken ZIP64 end record';
    const recordEnd = recordOffset + 12 + u64(record, 4);
    if (recordEnd !== eocd - 20) return `${eocd - 20 - recordEnd} bytes between the ZIP64 end record and its locator`;
    cdSize = u64(record, 40);
    cdOffset = u64(record, 48);
    return { cdOffset, cdEnd: cdOffset + cdSize, end: recordOffset };
  }
  return { cdOffset, cdEnd: cdOffset + cdSize, end: eocd };
}

/**
 * Why two readers could see this archive differently (null: they cannot). `entries` are yauzl's
 * reading of the central directory (all of it).
 */
export async function zipStructureRefusal(source: DocumentSource, entries: yauzl.Entry[]): Promise<string | null> {
  const where = await directoryEnd(source);
  if (typeof where === 'string') return where;
  if (where.cdEnd !== where.end)
    return where.cdEnd < where.end
      ? `${where.end - where.cdEnd} bytes between the ZIP's central directory and its end record (readers disagree on where its entries are)`
      : `the ZIP's central directory runs ${where.cdEnd - where.end} bytes past its end record`;
  const seen = new Set<string>();
  for (const entry of entries) {
    const key = entry.fileName.toLowerCase();
    if (seen.has(key)) return `the ZIP holds two entries named ${JSON.stringify(entry.fileName.slice(0, 100))}`;
    seen.add(key);
  }
  const ordered = [...entries].sort((a, b) => a.relativeOffsetOfLocalHeader - b.relativeOffsetOfLocalHeader);
  const first = ordered.length ? ordered[0]!.relativeOffsetOfLocalHeader : where.cdOffset;
  if (first !== 0) return `${first} bytes before the ZIP's first entry`;
  for (const [n, entry] of ordered.entries()) {
    const name = JSON.stringify(entry.fileName.slice(0, 100));
    const at = entry.relativeOffsetOfLocalHeader;
    const header = await source.read(at, 30);
    if (header.length < 30 || header.readUInt32LE(0) !== LOCAL_HEADER)
      return `the ZIP entry ${name} has no local header where its central record says`;
    const flags = header.readUInt16LE(6);
    const nameLength = header.readUInt16LE(26);
    const extraLength = header.readUInt16LE(28);
    const localName = await source.read(at + 30, nameLength);
    const mismatch =
      header.readUInt16LE(8) !== entry.compressionMethod
        ? 'compression method'
        : (flags & 1) !== (entry.generalPurposeBitFlag & 1)
          ? 'encryption flag'
          : (flags & 8) !== (entry.generalPurposeBitFlag & 8)
            ? 'data descriptor flag'
            : !localName.equals(entry.fileNameRaw)
              ? 'name'
              : (flags & 8) === 0 && header.readUInt32LE(14) !== entry.crc32
                ? 'CRC-32'
                : (flags & 8) === 0 &&
                    header.readUInt32LE(18) !== 0xffffffff &&
                    (header.readUInt32LE(18) !== entry.compressedSize ||
                      header.readUInt32LE(22) !== entry.uncompressedSize)
                  ? 'sizes'
                  : null;
    if (mismatch) return `the ZIP entry ${name}'s local header and central record differ (${mismatch})`;
    const dataEnd = at + 30 + nameLength + extraLength + entry.compressedSize;
    const next = n + 1 < ordered.length ? ordered[n + 1]!.relativeOffsetOfLocalHeader : where.cdOffset;
    if (next < dataEnd) return `the ZIP entry ${name} overlaps the next one (${dataEnd - next} bytes)`;
    let gap = next - dataEnd;
    if (flags & 8 && gap > 0) {
      // A data descriptor (12 to 24 bytes, with or without its signature) follows the data.
      const descriptor = await source.read(dataEnd, Math.min(gap, 24));
      const signed = descriptor.length >= 4 && descriptor.readUInt32LE(0) === DATA_DESCRIPTOR;
      const sizes = [12, 20].map((s) => s + (signed ? 4 : 0));
      if (sizes.includes(gap)) gap = 0;
    }
    if (gap !== 0) return `${gap} bytes between the ZIP entry ${name} and the next`;
  }
  return null;
}
