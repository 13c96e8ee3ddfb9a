// A ZIP container checked before anything inflates it whole (mammoth, the page estimate): its
// kind from the central directory's entry names, its declared sizes against the limits
// (zipLimits.ts), then each entry inflated into nothing, stopped at its declared size (yauzl's
// size validation), so a directory that lies about its sizes is caught too. An archive two readers
// could read differently is refused first (zipStructure.ts). Reads the source in pieces; memory
// stays at yauzl's buffers whatever the archive declares. The parsers read archives through the
// same checks (verifiedZip.ts).
import { Readable } from 'node:stream';
import { finished } from 'node:stream/promises';
import yauzl from 'yauzl';
import type { DocumentSource } from './documentSource.ts';
import { zipKind, type DocumentType } from './detectType.ts';
import { zipStructureRefusal } from './zipStructure.ts';
import { MAX_ZIP_ENTRIES, zipLimitRefusal, type ZipEntrySizes, type ZipLimits } from './zipLimits.ts';

export type ZipInspection = { ok: true; type: DocumentType } | { ok: false; type?: DocumentType; reason?: string };

export class SourceReader extends yauzl.RandomAccessReader {
  source: DocumentSource;
  constructor(source: DocumentSource) {
    super();
    this.source = source;
  }
  override _readStreamForRange(start: number, end: number): Readable {
    const source = this.source;
    return Readable.from(
      (async function* () {
        for (let position = start; position < end; position += 65536)
          yield await source.read(position, Math.min(65536, end - position));
      })(),
      { objectMode: false },
    );
  }
}

/**
 * `accepts` says whether the kind is one the parser reads: an archive of another kind is not
 * inflated at all (the caller refuses its type).
 */
export const openZip = (source: DocumentSource) =>
  yauzl.fromRandomAccessReaderPromise(new SourceReader(source), source.size, {
    lazyEntries: true,
    autoClose: false,
    validateEntrySizes: true,
    strictFileNames: false,
  });

export async function inspectZip(
  source: DocumentSource,
  limits: ZipLimits,
  accepts: (type: DocumentType) => boolean,
): Promise<ZipInspection> {
  let zip: yauzl.ZipFile;
  try {
    zip = await openZip(source);
  } catch (error) {
    return { ok: false, reason: `corrupt ZIP container (${(error as Error).message})` };
  }
  try {
    if (zip.entryCount > MAX_ZIP_ENTRIES)
      return { ok: false, reason: `the ZIP container has ${zip.entryCount} entries, over ${MAX_ZIP_ENTRIES}` };
    const entries: yauzl.Entry[] = [];
    for await (const entry of zip.eachEntry()) entries.push(entry);
    const ambiguous = await zipStructureRefusal(source, entries);
    if (ambiguous) return { ok: false, reason: `ambiguous ZIP container: ${ambiguous}` };
    const type = zipKind((prefix) => entries.some((e) => e.fileName.startsWith(prefix)));
    if (!accepts(type)) return { ok: false, type };
    const sizes: ZipEntrySizes[] = entries.map((e) => ({
      name: e.fileName,
      compressedSize: e.compressedSize,
      uncompressedSize: e.uncompressedSize,
    }));
    const refusal = zipLimitRefusal(sizes, limits);
    if (refusal) return { ok: false, type, reason: refusal };
    for (const entry of entries) {
      if (entry.isEncrypted()) return { ok: false, type, reason: 'the document is encrypted (password-protected)' };
      if (entry.fileName.endsWith('/')) continue;
      const stream = await zip.openReadStreamPromise(entry);
      await finished(stream.resume()); // inflated into nothing; yauzl errors past the declared size
    }
    return { ok: true, type };
  } catch (error) {
    return { ok: false, reason: `corrupt ZIP container (${(error as Error).message})` };
  } finally {
    zip.close();
  }
}
