// POST /v1/documents: multipart, one or more files, optional X-Correlation-ID. The same intake as
// the CLI; answers with the job ids (202), or the refusals (422 when nothing was accepted). Files
// are spooled to disk as they arrive (never a whole request in memory) and each is stored or
// refused on its own: a bad file, a limit or a failure on one file never undoes or fails another.
import { mkdtemp, open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Request, Response } from 'polka';
import { z } from 'zod';
import { ingestDocument, type IntakeResult } from '../lib/intake/ingestDocument.ts';
import { readMultipart, type MultipartFile } from '../lib/http/readMultipart.ts';
import { spoolToDisk, type SpooledFile } from '../lib/http/spoolToDisk.ts';
import { fileSource } from '../lib/documents/documentSource.ts';
import { isDatabaseUnavailable } from '../lib/db/unavailable.ts';
import type { ServerContext } from './context.ts';
import { fail, json } from './http.ts';
import { dropUnusedCallback, uploadCallback } from './uploadCallback.ts';
import { declareDocumentsRoute } from './documentsRouteDoc.ts';

const CorrelationId = z
  .string()
  .min(1)
  .max(200)
  .regex(/^[\w.:-]+$/, 'letters, digits and . _ : - only');

const RETRY_AFTER_S = 2;
const MAX_FIELDS = 20;
const MAX_FIELD_BYTES = 64 * 1024;

type Refusal = { file: string; reason: string };

export function documentsRoute(ctx: ServerContext) {
  const limits = ctx.uploads;
  let active = 0;
  return async (req: Request, res: Response) => {
    const header = req.headers['x-correlation-id'];
    const correlation = header === undefined ? undefined : CorrelationId.safeParse(String(header));
    if (correlation && !correlation.success)
      return fail(res, 400, 'bad_request', `X-Correlation-ID: ${correlation.error.issues[0]!.message}`);
    if (!String(req.headers['content-type'] ?? '').startsWith('multipart/form-data')) {
      return fail(res, 415, 'unsupported_media_type', 'send the files as multipart/form-data');
    }
    const declared = Number(req.headers['content-length']);
    if (Number.isFinite(declared) && declared > limits.maxRequestBytes) {
      res.setHeader('connection', 'close'); // the body is not read
      return fail(
        res,
        413,
        'too_large',
        `the request is ${declared} bytes, over ${limits.maxRequestBytes} (TVDB_MAX_REQUEST_BYTES)`,
      );
    }
    if (active >= limits.maxConcurrent) {
      res.setHeader('connection', 'close');
      res.setHeader('retry-after', String(RETRY_AFTER_S));
      return fail(
        res,
        429,
        'busy',
        `${active} uploads in progress, the most this server takes at once (TVDB_MAX_CONCURRENT_UPLOADS); retry in ${RETRY_AFTER_S} s`,
      );
    }
    active += 1;
    let dir: string | undefined;
    try {
      dir = await mkdtemp(path.join(tmpdir(), 'tvdb-upload-'));
      const form = await readMultipart(
        req,
        {
          fileSize: ctx.intake.maxBytes + 1, // busboy marks a file of exactly `fileSize` bytes truncated
          files: limits.maxFiles,
          fields: MAX_FIELDS,
          fieldSize: MAX_FIELD_BYTES,
          parts: limits.maxFiles + MAX_FIELDS + 1,
          requestBytes: limits.maxRequestBytes,
        },
        spoolToDisk(dir),
      );
      if (form.stopped) res.setHeader('connection', 'close'); // the rest of the body is not read
      if (!form.files.length && !form.beyondFilesLimit.length) {
        if (form.stopped === 'malformed') return fail(res, 400, 'bad_request', form.stoppedDetail!);
        return fail(res, 400, 'bad_request', 'no files in the request (use one or more "file" fields)');
      }
      // A per-upload callback (callback_url) is a subscription linked to this request's jobs.
      const callback = await uploadCallback(ctx, form.fields);
      if (!callback.ok) return fail(res, 400, 'bad_request', callback.message);
      const callbackId = callback.callback?.subscription_id;
      const results: IntakeResult[] = [];
      for (const file of form.files)
        results.push(await intakeOne(ctx, file, form.stopped, correlation?.data, callbackId));
      const refused: Refusal[] = results.flatMap((r) => (r.ok ? [] : [{ file: r.fileName, reason: r.reason }]));
      for (const part of form.beyondFilesLimit)
        refused.push({
          file: part.fileName || 'upload',
          reason: `beyond the limit of ${limits.maxFiles} files per request (TVDB_MAX_FILES_PER_REQUEST): not read; send it in another request`,
        });
      if (form.stopped === 'malformed' && (results.length || refused.length))
        refused.push({ file: '(the rest of the request)', reason: `${form.stoppedDetail}; the rest was not read` });
      if (form.stopped === 'parts_limit')
        refused.push({
          file: '(the rest of the request)',
          reason: `${form.stoppedDetail}; parts after that were not read`,
        });
      if (form.stopped === 'request_too_large' && !form.files.some((f) => f.error))
        refused.push({
          file: '(the rest of the request)',
          reason: `the request is over ${limits.maxRequestBytes} bytes (TVDB_MAX_REQUEST_BYTES); the rest was not read`,
        });
      const jobs = results.flatMap((r) =>
        r.ok ? [{ file: r.fileName, job_id: r.jobId, correlation_id: r.correlationId }] : [],
      );
      if (!jobs.length) await dropUnusedCallback(ctx, callback.callback);
      if (jobs.length)
        return json(res, 202, { jobs, refused, ...(callback.callback ? { callback: callback.callback } : {}) });
      if (results.length && results.every((r) => !r.ok && r.reason === UNAVAILABLE))
        return json(res, 503, { error: 'unavailable', message: 'database unavailable; retry later', refused });
      const status = form.stopped === 'request_too_large' ? 413 : 422;
      json(res, status, { error: 'refused', message: 'no file was accepted', refused });
    } finally {
      active -= 1;
      if (dir) await rm(dir, { recursive: true, force: true });
    }
  };
}

const UNAVAILABLE = 'the database is unavailable; send this file again';

declareDocumentsRoute(CorrelationId);

async function intakeOne(
  ctx: ServerContext,
  file: MultipartFile<SpooledFile>,
  stopped: string | undefined,
  correlationId: string | undefined,
  callbackSubscriptionId: number | undefined,
): Promise<IntakeResult> {
  const fileName = file.info.fileName || 'upload';
  const refuse = (reason: string): IntakeResult => ({ ok: false, fileName, reason });
  if (file.error || !file.value)
    return refuse(
      stopped === 'request_too_large'
        ? `the request is over ${ctx.uploads.maxRequestBytes} bytes (TVDB_MAX_REQUEST_BYTES): this file and the rest were not read`
        : 'the upload of this file was interrupted',
    );
  if (file.truncated) return refuse(`the file is over the limit of ${ctx.intake.maxBytes} bytes (TVDB_MAX_FILE_BYTES)`);
  const handle = await open(file.value.path, 'r');
  try {
    return await ingestDocument(
      ctx.pool,
      { source: fileSource(handle, file.value.size), fileName, correlationId, callbackSubscriptionId },
      ctx.intake,
    );
  } catch (error) {
    if (isDatabaseUnavailable(error)) return refuse(UNAVAILABLE);
    ctx.log.error({ err: error, file: fileName }, 'could not store an uploaded file');
    return refuse('an internal error stopped this file; see the server log');
  } finally {
    await handle.close();
  }
}
