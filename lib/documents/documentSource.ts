// A document's bytes wherever they are (a buffer, an open file), read in bounded pieces: intake
// sniffs the head, reads a ZIP's central directory from the end, hashes and stores in parts, and
// never needs the whole file in memory.
import type { FileHandle } from 'node:fs/promises';
import { createHash } from 'node:crypto';

export type DocumentSource = {
  size: number;
  /** Up to `length` bytes from `position` (fewer at the end of the document). */
  read(position: number, length: number): Promise<Buffer>;
  /** Fills `buffer` from `position`; returns the bytes read (a file source reads into it, no copy). */
  readInto(buffer: Buffer, position: number): Promise<number>;
};

export function bytesSource(bytes: Uint8Array): DocumentSource {
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return {
    size: buffer.length,
    read: async (position, length) => buffer.subarray(position, Math.min(buffer.length, position + length)),
    readInto: async (target, position) =>
      buffer.copy(target, 0, position, Math.min(buffer.length, position + target.length)),
  };
}

/** An open file of a known size (the caller fstat-ed the handle it opened: no second look-up). */
export function fileSource(handle: FileHandle, size: number): DocumentSource {
  const readInto = async (buffer: Buffer, position: number) => {
    const wanted = Math.max(0, Math.min(buffer.length, size - position));
    let filled = 0;
    while (filled < wanted) {
      const { bytesRead } = await handle.read(buffer, filled, wanted - filled, position + filled);
      if (bytesRead === 0) break; // the file shrank since it was opened
      filled += bytesRead;
    }
    return filled;
  };
  return {
    size,
    readInto,
    read: async (position, length) => {
      const buffer = Buffer.alloc(Math.max(0, Math.min(length, size - position)));
      return buffer.subarray(0, await readInto(buffer, position));
    },
  };
}

export const PART_BYTES = 256 * 1024;

/**
 * The source in consecutive parts of at most `partBytes`, read into one buffer: each part is valid
 * until the next is asked for (the consumer stores or hashes it before), so reading a 50 MB file
 * leaves no 50 MB of garbage behind.
 */
export async function* partsOf(source: DocumentSource, partBytes = PART_BYTES): AsyncGenerator<Buffer> {
  const buffer = Buffer.allocUnsafe(Math.min(partBytes, Math.max(1, source.size)));
  for (let position = 0; position < source.size; position += buffer.length) {
    const read = await source.readInto(buffer, position);
    if (read === 0) return;
    yield buffer.subarray(0, read);
  }
}

export async function sha256Of(source: DocumentSource): Promise<Buffer> {
  const hash = createHash('sha256');
  for await (const part of partsOf(source)) hash.update(part);
  return hash.digest();
}
