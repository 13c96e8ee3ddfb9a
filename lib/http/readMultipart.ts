// multipart/form-data read with busboy (streaming, with limits), for the document API and the
// LlamaParse emulator: each file collected up to `fileSize` bytes (beyond it marked truncated, the
// rest drained unread), at most `files` files and `fields` fields.
import type { IncomingMessage } from 'node:http';
import busboy from 'busboy';

export type MultipartFile = { field: string; fileName: string; bytes: Buffer; truncated: boolean };
export type Multipart = { files: MultipartFile[]; fields: Record<string, string>; filesLimitReached: boolean };
export type MultipartLimits = { fileSize: number; files?: number; fields?: number; fieldSize?: number };

export function readMultipart(req: IncomingMessage, limits: MultipartLimits): Promise<Multipart> {
  return new Promise((resolve, reject) => {
    const out: Multipart = { files: [], fields: {}, filesLimitReached: false };
    let parser: busboy.Busboy;
    try {
      parser = busboy({ headers: req.headers, limits });
    } catch (error) {
      return reject(error);
    }
    parser.on('file', (field, stream, info) => {
      const chunks: Buffer[] = [];
      const file: MultipartFile = { field, fileName: info.filename ?? '', bytes: Buffer.alloc(0), truncated: false };
      out.files.push(file);
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('limit', () => (file.truncated = true));
      stream.on('close', () => (file.bytes = Buffer.concat(chunks)));
    });
    parser.on('field', (name, value) => (out.fields[name] = value));
    parser.on('filesLimit', () => (out.filesLimitReached = true));
    parser.on('close', () => resolve(out));
    parser.on('error', reject);
    req.pipe(parser);
  });
}
