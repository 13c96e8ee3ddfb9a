// multipart/form-data read with busboy (streaming), for the document API and the LlamaParse
// emulator. Each file part goes to a sink as it arrives (the API spools to disk, the emulator keeps
// it in memory); nothing else holds a file. Everything is bounded: bytes per file (a larger file is
// marked truncated and the rest of it discarded unread), files (parts beyond are drained and
// listed), fields and their size, parts, and the whole request (reading stops there).
import type { IncomingMessage } from 'node:http';
import { Transform, type Readable } from 'node:stream';
import busboy from 'busboy';

export type PartInfo = { field: string; fileName: string; mimeType: string };
export type MultipartFile<T> = { info: PartInfo; truncated: boolean; value?: T; error?: Error };
export type Multipart<T> = {
  /** File parts within the files limit, in request order: a value, or the sink's error. */
  files: Array<MultipartFile<T>>;
  fields: Record<string, string>;
  /** File parts beyond the files limit (read past, not kept). */
  beyondFilesLimit: PartInfo[];
  /** Why reading stopped before the end, if it did: nothing after that point was read. */
  stopped?: 'request_too_large' | 'parts_limit' | 'malformed';
  stoppedDetail?: string;
};
export type MultipartLimits = {
  fileSize: number;
  files?: number;
  fields?: number;
  fieldSize?: number;
  parts?: number;
  requestBytes?: number;
};
/** Consumes one file part's stream; rejects if the stream fails (the request was cut). */
export type FileSink<T> = (info: PartInfo, stream: Readable) => Promise<T>;

export function readMultipart<T>(
  req: IncomingMessage,
  limits: MultipartLimits,
  sink: FileSink<T>,
): Promise<Multipart<T>> {
  return new Promise((resolve, reject) => {
    const out: Multipart<T> = { files: [], fields: {}, beyondFilesLimit: [] };
    let parser: busboy.Busboy;
    try {
      parser = busboy({
        headers: req.headers,
        defParamCharset: 'utf8', // browsers and fetch send file names as raw UTF-8
        limits: { fileSize: limits.fileSize, fields: limits.fields, fieldSize: limits.fieldSize, parts: limits.parts },
      });
    } catch (error) {
      return reject(error);
    }
    const pending: Array<Promise<void>> = [];
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      void Promise.allSettled(pending).then(() => resolve(out));
    };
    const stop = (reason: NonNullable<Multipart<T>['stopped']>, detail: string, destroy: boolean) => {
      if (out.stopped) return;
      out.stopped = reason;
      out.stoppedDetail = detail;
      if (!destroy) return;
      req.unpipe(counter);
      counter.unpipe(parser);
      parser.destroy(new Error(detail)); // fails the file in flight
      finish();
    };
    // A request cut by the size limit ends in a busboy error ("unexpected end"): not malformed.
    // Counts the request's bytes; past the limit it passes on what fits, stops reading and ends the
    // body there: busboy sees the form end, the file cut short fails, the files before it stand.
    let received = 0;
    const counter = new Transform({
      transform(chunk: Buffer, _encoding, callback) {
        received += chunk.length;
        if (limits.requestBytes === undefined || received <= limits.requestBytes) return callback(null, chunk);
        const room = limits.requestBytes - (received - chunk.length);
        if (!out.stopped) {
          out.stopped = 'request_too_large';
          out.stoppedDetail = `the request is over ${limits.requestBytes} bytes`;
          req.unpipe(counter);
          setImmediate(() => counter.end());
        }
        callback(null, room > 0 ? chunk.subarray(0, room) : undefined);
      },
    });
    parser.on('file', (field, stream, info) => {
      const part: PartInfo = { field, fileName: info.filename ?? '', mimeType: info.mimeType };
      if (out.stopped) return void stream.resume();
      if (out.files.length >= (limits.files ?? Infinity)) {
        out.beyondFilesLimit.push(part);
        return void stream.resume();
      }
      const file: MultipartFile<T> = { info: part, truncated: false };
      out.files.push(file);
      stream.on('limit', () => (file.truncated = true));
      pending.push(
        sink(part, stream).then(
          (value) => void (file.value = value),
          (error: Error) => void (file.error = error),
        ),
      );
    });
    parser.on('field', (name, value) => (out.fields[name] = value));
    parser.on('partsLimit', () => stop('parts_limit', `the request has more than ${limits.parts} parts`, false));
    parser.on('close', finish);
    parser.on('error', (error: Error) => {
      if (!out.stopped) stop('malformed', `malformed multipart body: ${error.message}`, false);
      finish();
    });
    req.on('error', () => stop('malformed', 'the request was interrupted', true));
    req.pipe(counter).pipe(parser);
  });
}

/** A sink that keeps each file in memory (the emulator's; files there are the test's own). */
export const toMemory: FileSink<Buffer> = async (_info, stream) => {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
};
