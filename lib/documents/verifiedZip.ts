// A ZIP container as the parsers read it: through the same checks as intake (inspectZip: one
// reading of the structure, declared sizes within the limits, no encryption), and each entry
// inflated by yauzl, stopped at its declared size. mammoth is handed this reader (its `file`
// input: exists/read) instead of the bytes, so JSZip never reads an archive and the parser sees
// exactly the entries that were checked, each at most the size the limits admitted.
import { permanent } from '../errors.ts';
import { bytesSource } from './documentSource.ts';
import { openZip } from './inspectZip.ts';
import { zipLimitRefusal, type ZipLimits } from './zipLimits.ts';
import { zipStructureRefusal } from './zipStructure.ts';

export type VerifiedZip = {
  names: string[];
  exists(name: string): boolean;
  /** The entry's bytes, or its text in `encoding`. */
  read(name: string): Promise<Uint8Array>;
  read(name: string, encoding: string): Promise<string>;
  /** mammoth's zip interface has these for writing documents; nothing here writes. */
  write(name: string, contents: unknown): void;
  toArrayBuffer(): Promise<ArrayBuffer>;
};

export async function verifiedZip(bytes: Uint8Array, limits: ZipLimits, what: string): Promise<VerifiedZip> {
  const source = bytesSource(bytes);
  const refuse = (reason: string) => permanent(`${what}: ${reason}`);
  const zip = await openZip(source).catch((error: Error) => {
    throw refuse(`corrupt ZIP container (${error.message})`);
  });
  const entries = new Map<string, import('yauzl').Entry>();
  try {
    const all: import('yauzl').Entry[] = [];
    for await (const entry of zip.eachEntry()) all.push(entry);
    const ambiguous = await zipStructureRefusal(source, all);
    if (ambiguous) throw refuse(`ambiguous ZIP container: ${ambiguous}`);
    const over = zipLimitRefusal(
      all.map((e) => ({ name: e.fileName, compressedSize: e.compressedSize, uncompressedSize: e.uncompressedSize })),
      limits,
    );
    if (over) throw refuse(over);
    if (all.some((e) => e.isEncrypted())) throw refuse('the document is encrypted (password-protected)');
    for (const entry of all) entries.set(entry.fileName, entry);
  } catch (error) {
    zip.close();
    if ((error as { errorClass?: string }).errorClass) throw error;
    throw refuse(`corrupt ZIP container (${(error as Error).message})`);
  }
  const inflate = async (name: string): Promise<Buffer> => {
    const entry = entries.get(name);
    if (!entry) throw new Error(`no entry ${name} in the archive`);
    // One allocation larger than a thread's heap can take is a fatal out-of-memory of the whole
    // process, not the thread error the pool expects (measured: JSZip's 314 MB string aborted the
    // process): an entry is refused before it is inflated, by the size yauzl holds it to.
    if (limits.maxEntryBytes !== undefined && entry.uncompressedSize > limits.maxEntryBytes)
      throw refuse(
        `the ZIP entry ${JSON.stringify(name.slice(0, 100))} inflates to ${entry.uncompressedSize} bytes, over the ${limits.maxEntryBytes} a CPU thread may hold at once (a quarter of TVDB_PARSE_MEMORY_MB); raise TVDB_PARSE_MEMORY_MB or parse it with LlamaParse`,
      );
    const chunks: Buffer[] = [];
    try {
      for await (const chunk of await zip.openReadStreamPromise(entry)) chunks.push(chunk as Buffer);
    } catch (error) {
      throw refuse(`corrupt ZIP entry ${JSON.stringify(name.slice(0, 100))} (${(error as Error).message})`);
    }
    return Buffer.concat(chunks);
  };
  async function read(name: string): Promise<Uint8Array>;
  async function read(name: string, encoding: string): Promise<string>;
  async function read(name: string, encoding?: string): Promise<Uint8Array | string> {
    const bytes = await inflate(name);
    if (encoding === 'base64') return bytes.toString('base64');
    return encoding
      ? new TextDecoder(encoding).decode(bytes)
      : new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length);
  }
  return {
    names: [...entries.keys()],
    exists: (name) => entries.has(name),
    read,
    write: () => {
      throw new Error('this archive is read-only');
    },
    toArrayBuffer: () => Promise.reject(new Error('this archive is read-only')),
  };
}
