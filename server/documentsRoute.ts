// POST /v1/documents: multipart, one or more files, optional X-Correlation-ID. The same intake as
// the CLI; answers with the job ids (202), or the refusals (422 when nothing was accepted).
import type { Request, Response } from 'polka';
import { z } from 'zod';
import { ingestDocument, type IntakeResult } from '../lib/intake/ingestDocument.ts';
import { readMultipart, type MultipartFile } from '../lib/http/readMultipart.ts';
import type { ServerContext } from './context.ts';
import { fail, json } from './http.ts';
import { dropUnusedCallback, uploadCallback } from './uploadCallback.ts';
import { declareDocumentsRoute } from './documentsRouteDoc.ts';

const CorrelationId = z
  .string()
  .min(1)
  .max(200)
  .regex(/^[\w.:-]+$/, 'letters, digits and . _ : - only');

export function documentsRoute(ctx: ServerContext) {
  return async (req: Request, res: Response) => {
    const header = req.headers['x-correlation-id'];
    const correlation = header === undefined ? undefined : CorrelationId.safeParse(String(header));
    if (correlation && !correlation.success)
      return fail(res, 400, 'bad_request', `X-Correlation-ID: ${correlation.error.issues[0]!.message}`);
    if (!String(req.headers['content-type'] ?? '').startsWith('multipart/form-data')) {
      return fail(res, 415, 'unsupported_media_type', 'send the files as multipart/form-data');
    }
    let uploads: MultipartFile[];
    let fields: Record<string, string>;
    try {
      ({ files: uploads, fields } = await readMultipart(req, { fileSize: ctx.intake.maxBytes, files: 100 }));
    } catch (error) {
      return fail(res, 400, 'bad_request', `malformed multipart body: ${(error as Error).message}`);
    }
    if (!uploads.length)
      return fail(res, 400, 'bad_request', 'no files in the request (use one or more "file" fields)');
    const callback = await uploadCallback(ctx, fields);
    if (!callback.ok) return fail(res, 400, 'bad_request', callback.message);
    const results: IntakeResult[] = [];
    for (const upload of uploads) {
      results.push(
        upload.truncated
          ? {
              ok: false,
              fileName: upload.fileName || 'upload',
              reason: `the file is over the limit of ${ctx.intake.maxBytes} bytes (TVDB_MAX_FILE_BYTES)`,
            }
          : await ingestDocument(
              ctx.pool,
              {
                bytes: upload.bytes,
                fileName: upload.fileName || 'upload',
                correlationId: correlation?.data,
                callbackSubscriptionId: callback.callback?.subscription_id,
              },
              ctx.intake,
            ),
      );
    }
    const jobs = results.flatMap((r) =>
      r.ok ? [{ file: r.fileName, job_id: r.jobId, correlation_id: r.correlationId }] : [],
    );
    const refused = results.flatMap((r) => (r.ok ? [] : [{ file: r.fileName, reason: r.reason }]));
    if (!jobs.length) await dropUnusedCallback(ctx, callback.callback);
    json(
      res,
      jobs.length ? 202 : 422,
      jobs.length
        ? { jobs, refused, ...(callback.callback ? { callback: callback.callback } : {}) }
        : { error: 'refused', message: 'no file was accepted', refused },
    );
  };
}

declareDocumentsRoute(CorrelationId);
