// The LlamaParse emulator's HTTP surface: the v2 parse API the official SDK calls (upload, get with
// expand, list, cancel) behind bearer auth and the call-level faults, plus /_emulator admin routes.
import type { ServerResponse } from 'node:http';
import type { Polka, Request } from 'polka';
import { z } from 'zod';
import { readMultipart, toMemory } from '../../lib/http/readMultipart.ts';
import { addAdminRoutes, bearer, readBody, sendJson, sleep } from '../http.ts';
import { takeFault } from '../takeFault.ts';
import { LlamaParseFaults } from './faults.ts';
import {
  CREDITS_PER_PAGE,
  createJob,
  finishJob,
  freshStats,
  jobView,
  parseTargetPages,
  resultPages,
  startJob,
  type Webhook,
} from './jobs.ts';
import type { LlamaParseEmulator } from './index.ts';

const Configuration = z
  .object({
    tier: z.enum(['fast', 'cost_effective', 'agentic', 'agentic_plus']),
    version: z.string().min(1),
    user_metadata: z.record(z.string(), z.string()).optional(),
    page_ranges: z
      .object({ max_pages: z.number().int().positive().nullish(), target_pages: z.string().nullish() })
      .nullish(),
    webhook_configurations: z
      .array(
        z.object({
          webhook_url: z.string().url().nullish(),
          webhook_events: z.array(z.string()).nullish(),
          webhook_headers: z.record(z.string(), z.unknown()).nullish(),
          webhook_output_format: z.enum(['json', 'string']).nullish(),
          webhook_signing_secret: z.string().nullish(),
        }),
      )
      .optional(),
    // Documented bounds: base_in_seconds <= 1800, extra_time_per_page_in_seconds <= 300.
    processing_control: z
      .object({
        timeouts: z
          .object({
            base_in_seconds: z.number().int().positive().max(1800).nullish(),
            extra_time_per_page_in_seconds: z.number().int().positive().max(300).nullish(),
          })
          .nullish(),
      })
      .passthrough()
      .nullish(),
  })
  .passthrough();

const fastApiError = (issues: z.core.$ZodIssue[]) => ({
  detail: issues.map((i) => ({ loc: ['body', 'configuration', ...i.path.map(String)], msg: i.message, type: i.code })),
});

export function addRoutes(app: Polka, emu: LlamaParseEmulator) {
  app.use(async (req, res, next) => {
    if (req.path.startsWith('/_emulator')) return next();
    const key = `${req.method} ${req.path.replace(/\/parse\/[^/]+/, '/parse/{id}')}`;
    emu.stats.calls[key] = (emu.stats.calls[key] ?? 0) + 1;
    emu.callTimes.push(Date.now());
    const run = req.headers['x-tvdb-run'];
    emu.received.push({ call: key, run: typeof run === 'string' ? run : null, at: Date.now() });
    if (takeFault(emu.faults, 'slowResponses')) await sleep(emu.faults.slowResponses!.delayMs);
    if (emu.faults.unauthorized || !emu.apiKeys.includes(bearer(req) ?? ''))
      return sendJson(res, 401, { detail: 'Invalid authentication credentials' });
    if (takeFault(emu.faults, 'serverErrors'))
      return sendJson(res, emu.faults.serverErrors!.status, { detail: 'Service Unavailable' });
    next();
  });
  app.post('/api/v2/parse/upload', (req, res) => upload(emu, req, res));
  app.post('/api/v2/parse', async (req, res) => {
    await readBody(req);
    sendJson(res, 422, {
      detail: [
        {
          loc: ['body', 'file_id'],
          msg: 'the emulator accepts uploads only (POST /api/v2/parse/upload)',
          type: 'value_error',
        },
      ],
    });
  });
  // The list, newest first, filtered as documented (created_at_on_or_after / _before, status,
  // job_ids); one page holds them all (next_page_token null).
  app.get('/api/v2/parse', (req, res) => {
    const query = new URL(req.url, 'http://x').searchParams;
    const after = query.get('created_at_on_or_after');
    const before = query.get('created_at_on_or_before');
    const status = query.get('status');
    const ids = query.getAll('job_ids').concat(query.getAll('job_ids[]'));
    const items = [...emu.jobs.values()]
      .filter((j) => (after ? Date.parse(j.created_at) >= Date.parse(after) : true))
      .filter((j) => (before ? Date.parse(j.created_at) <= Date.parse(before) : true))
      .filter((j) => (status ? j.status === status : true))
      .filter((j) => (ids.length ? ids.includes(j.id) : true))
      .reverse()
      .map((j) => jobView(j, false));
    sendJson(res, 200, { items, next_page_token: null });
  });
  app.get('/api/v2/parse/:id', (req, res) => getJob(emu, req, res));
  app.post('/api/v2/parse/:id/cancel', (req, res) => {
    const job = emu.jobs.get(req.params.id!);
    if (!job) return sendJson(res, 404, { detail: 'Job not found' });
    if (job.status !== 'PENDING' && job.status !== 'RUNNING')
      return sendJson(res, 400, { detail: `Job is already ${job.status} and cannot be cancelled` });
    // What a cancelled job bills: nothing, unless the billCancelled fault says it parsed (and bills)
    // the pages it was asked for; usage then reports it.
    job.credits = 0;
    if (takeFault(emu.faults, 'billCancelled')) {
      job.credits = (job.maxPages ?? 1) * (CREDITS_PER_PAGE[job.tier] ?? 3);
      emu.stats.billedPages += job.maxPages ?? 1;
      emu.stats.billedCredits += job.credits;
    }
    finishJob(emu.simulation, job, 'CANCELLED');
    sendJson(res, 200, jobView(job, false));
  });
  // Admin endpoints for tests and demos.
  addAdminRoutes(app, emu, LlamaParseFaults, 'detail');
  app.post('/_emulator/reset', (_req, res) => {
    emu.stats = freshStats();
    emu.faults = {};
    sendJson(res, 200, { ok: true });
  });
}

async function upload(emu: LlamaParseEmulator, req: Request, res: ServerResponse) {
  const startedAt = Date.now();
  let form;
  try {
    form = await readMultipart(req, { fileSize: emu.limits.maxFileBytes + 1 }, toMemory);
  } catch (error) {
    return sendJson(res, 422, { detail: String((error as Error).message) });
  }
  const file = form.files.find((f) => f.info.field === 'file' && f.value);
  if (emu.faults.outOfCredits)
    return sendJson(res, 402, { detail: 'You have run out of credits. Upgrade your plan or add credits.' });
  // Documented: 50 uploads per 10 s per organization, the excess answered 429.
  const now = Date.now();
  let recent = 0;
  for (let i = emu.uploadTimes.length - 1; i >= 0 && now - emu.uploadTimes[i]! < 10_000; i--) recent++;
  if (takeFault(emu.faults, 'rateLimit') || (emu.limits.uploadsPer10s > 0 && recent >= emu.limits.uploadsPer10s)) {
    const { retryAfterS, retryAfterMs } = emu.faults.rateLimit ?? {};
    const headers: Record<string, string> = {};
    if (retryAfterS !== undefined) headers['retry-after'] = String(retryAfterS);
    if (retryAfterMs !== undefined) headers['retry-after-ms'] = String(retryAfterMs);
    return sendJson(res, 429, { detail: 'Rate limit exceeded' }, headers);
  }
  if (!file) return sendJson(res, 422, { detail: [{ loc: ['body', 'file'], msg: 'Field required', type: 'missing' }] });
  // Documented: files up to 512 MB. The status of a larger one is not documented [I]: 413, FastAPI's shape.
  if (file.truncated || file.value!.length > emu.limits.maxFileBytes)
    return sendJson(res, 413, { detail: `File too large: the maximum file size is ${emu.limits.maxFileBytes} bytes` });
  let config: z.infer<typeof Configuration>;
  try {
    const parsed = Configuration.safeParse(JSON.parse(form.fields.configuration ?? 'null'));
    if (!parsed.success) return sendJson(res, 422, fastApiError(parsed.error.issues));
    config = parsed.data;
  } catch {
    return sendJson(res, 422, {
      detail: [{ loc: ['body', 'configuration'], msg: 'Invalid JSON', type: 'json_invalid' }],
    });
  }
  const ranges = config.page_ranges;
  let targetPages: number[] | undefined;
  if (ranges?.target_pages) {
    const parsed = parseTargetPages(ranges.target_pages);
    if (typeof parsed === 'string')
      return sendJson(res, 422, {
        detail: [{ loc: ['body', 'configuration', 'page_ranges', 'target_pages'], msg: parsed, type: 'value_error' }],
      });
    targetPages = parsed;
  }
  const webhook = config.webhook_configurations?.[0]; // "only the first entry is used"
  const job = createJob(emu.simulation, {
    fileName: file.info.fileName || undefined,
    tier: config.tier,
    ...(config.user_metadata ? { userMetadata: config.user_metadata } : {}),
    // "If both max_pages and target_pages are set, target_pages takes precedence".
    ...(targetPages ? { targetPages } : ranges?.max_pages ? { maxPages: ranges.max_pages } : {}),
    ...(webhook?.webhook_url ? { webhook: webhook as Webhook } : {}),
  });
  emu.jobs.set(job.id, job);
  emu.stats.uploads += 1;
  emu.uploadTimes.push(Date.now());
  emu.stats.jobs += 1;
  emu.log(`job ${job.id} created for ${job.name} (${file.value!.length} bytes, tier ${job.tier})`);
  startJob(emu.simulation, job, file.value!);
  const run = req.headers['x-tvdb-run'];
  emu.uploadLog.push({
    run: typeof run === 'string' ? run : null,
    startedAt,
    endedAt: Date.now(),
    tvdbJobId: job.user_metadata.tvdb_job_id ?? null,
    id: job.id,
  });
  if (takeFault(emu.faults, 'loseUploadAnswers')) {
    emu.log(`job ${job.id}: answer dropped (fault loseUploadAnswers)`);
    req.socket.destroy();
    return;
  }
  sendJson(res, 200, jobView(job, false));
}

function getJob(emu: LlamaParseEmulator, req: Request, res: ServerResponse) {
  const job = emu.jobs.get(req.params.id!);
  if (!job) return sendJson(res, 404, { detail: 'Job not found' });
  const url = new URL(req.url, 'http://x');
  const expand = new Set(
    url.searchParams
      .getAll('expand')
      .flatMap((e) => e.split(','))
      .concat(url.searchParams.getAll('expand[]')),
  );
  const body: Record<string, unknown> = { job: jobView(job, expand.has('usage')) };
  if (job.status === 'COMPLETED' && job.result) {
    const pages = resultPages(job);
    if (expand.has('markdown'))
      body.markdown = {
        pages: pages.map((p) => ('error' in p ? p : { page_number: p.page_number, markdown: p.text, success: true })),
      };
    if (expand.has('text'))
      body.text = { pages: pages.flatMap((p) => ('error' in p ? [] : [{ page_number: p.page_number, text: p.text }])) };
    if (expand.has('job_metadata')) body.job_metadata = { job_pages: job.result.pageCount, job_is_cache_hit: false };
  }
  sendJson(res, 200, body);
}
