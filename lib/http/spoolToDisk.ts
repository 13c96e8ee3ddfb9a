// A multipart file sink that writes each file to its own file in `dir` as it arrives, with
// backpressure (a slow disk slows the upload, it does not fill memory).
import { createWriteStream } from 'node:fs';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { FileSink } from './readMultipart.ts';

export type SpooledFile = { path: string; size: number };

export function spoolToDisk(dir: string): FileSink<SpooledFile> {
  let n = 0;
  return async (_info, stream: Readable) => {
    const file = path.join(dir, String(n++));
    let size = 0;
    stream.on('data', (chunk: Buffer) => (size += chunk.length));
    await pipeline(stream, createWriteStream(file, { flags: 'wx', mode: 0o600 }));
    return { path: file, size };
  };
}
