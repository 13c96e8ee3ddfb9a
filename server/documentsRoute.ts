// POST /v1/documents: multipart, one or more files, optional X-Correlation-ID. The same intake as
// the CLI; answers with the job ids (202), or the refusals (422 when nothing was accepted).
import busboy from 'busboy';
import type { Request, Response } from 'polka';
import { z } from 'zod';
import { ingestDocument, type IntakeResult } from '../lib/intake/ingestDocument.ts';
import type { ServerContext } from './context.ts';
import { fail, json } from './http.ts';

const CorrelationId = z
  .string()
  .min(1)
  .max(200)
  .regex(/^[\w.:-]+$/, 'letters, digits and . _ : - only');

type Upload = { name: string; bytes: Buffer; truncated: boolean };

export function documentsRoute(ctx: ServerContext) {
  return async (req: Request, res: Response) => {
    const header = req.headers['x-correlation-id'];
    const correlation = header === undefined ? undefined : CorrelationId.safeParse(String(header));
    if (correlation && !correlation.success)
      return fail(res, 400, 'bad_request', `X-Correlation-ID: ${correlation.error.issues[0]!.message}`);
    if (!String(req.headers['content-type'] ?? '').startsWith('multipart/form-data')) {
      return fail(res, 415, 'unsupported_media_type', 'send the files as multipart/form-data');
    }
    let uploads: Upload[];
    try {
      uploads = await readUploads(req, ctx.intake.maxBytes);
    } catch (error) {
      return fail(res, 400, 'bad_request', `malformed multipart body: ${(error as Error).message}`);
    }
    if (!uploads.length)
      return fail(res, 400, 'bad_request', 'no files in the request (use one or more "file" fields)');
    const results: IntakeResult[] = [];
    for (const upload of uploads) {
      results.push(
        upload.truncated
          ? {
              ok: false,
              fileName: upload.name,
              reason: `the file is over the limit of ${ctx.intake.maxBytes} bytes (TVDB_MAX_FILE_BYTES)`,
            }
          : await ingestDocument(
              ctx.pool,
              { bytes: upload.bytes, fileName: upload.name, correlationId: correlation?.data },
              ctx.intake,
            ),
      );
    }
    const jobs = results.flatMap((r) =>
      r.ok ? [{ file: r.fileName, job_id: r.jobId, correlation_id: r.correlationId }] : [],
    );
    const refused = results.flatMap((r) => (r.ok ? [] : [{ file: r.fileName, reason: r.reason }]));
    json(
      res,
      jobs.length ? 202 : 422,
      jobs.length ? { jobs, refused } : { error: 'refused', message: 'no file was accepted', refused },
    );
  };
}

function readUploads(req: Request, maxBytes: number): Promise<Upload[]> {
  return new Promise((resolve, reject) => {
    const uploads: Upload[] = [];
    const parser = busboy({ headers: req.headers, limits: { fileSize: maxBytes, files: 100 } });
    parser.on('file', (_field, stream, info) => {
      const chunks: Buffer[] = [];
      const upload: Upload = { name: info.filename || 'upload', bytes: Buffer.alloc(0), truncated: false };
      uploads.push(upload);
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('limit', () => (upload.truncated = true));
      stream.on('close', () => (upload.bytes = Buffer.concat(chunks)));
    });
    parser.on('close', () => resolve(uploads));
    parser.on('error', reject);
    req.pipe(parser);
  });
}
