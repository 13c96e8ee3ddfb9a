// A LlamaParse emulator: a real HTTP server speaking the v2 parse API the official SDK calls
// (../shared/reference/llamaparse-api.md), with the documented auth, statuses, error shapes and
// webhook delivery. Results come from our local parser, credits from the tier table, processing
// time from a per-page delay. Faults on demand (see llamaparseFaults.ts).
import { randomUUID } from 'node:crypto';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import polka from 'polka';
import busboy from 'busboy';
import { z } from 'zod';
import { parseLocally } from '../../lib/parse/local/parseLocally.ts';
import { detectType } from '../../lib/documents/detectType.ts';
import { signBody } from '../../lib/webhooks/signature.ts';
import { bearer, readBody, sendJson, sleep, takeFault } from '../http.ts';
import { LlamaParseFaults } from './faults.ts';
import type { ParseOutput } from '../../lib/parse/types.ts';

export const CREDITS_PER_PAGE: Record<string, number> = { fast: 1, cost_effective: 3, agentic: 10, agentic_plus: 45 };

export type LlamaParseEmulatorOptions = {
  port?: number;
  host?: string;
  apiKeys?: string[];
  /** Time a job spends PENDING before RUNNING, and per page while RUNNING. */
  startDelayMs?: number;
  perPageDelayMs?: number;
  /** Webhook retry delays (LlamaParse: 1 s, 2 s, 4 s: 3 attempts). */
  webhookRetryDelaysMs?: number[];
  webhookTimeoutMs?: number;
  faults?: LlamaParseFaults;
  log?: (message: string) => void;
};

type Status = 'PENDING' | 'RUNNING' | 'COMPLETED' | 'FAILED' | 'CANCELLED';
type Webhook = {
  webhook_url: string;
  webhook_events?: string[] | null;
  webhook_headers?: Record<string, unknown> | null;
  webhook_output_format?: 'json' | 'string' | null;
  webhook_signing_secret?: string | null;
};
type EmulatedJob = {
  id: string;
  project_id: string;
  status: Status;
  name: string;
  tier: string;
  created_at: string;
  updated_at: string;
  error_message: string | null;
  user_metadata: Record<string, string>;
  credits: number | null;
  result?: ParseOutput;
  failedPages: Array<{ page_number: number; error: string }>;
  webhook?: Webhook;
  stuck: boolean;
  failWith?: string;
};

export type EmulatorStats = {
  calls: Record<string, number>;
  uploads: number;
  jobs: number;
  billedPages: number;
  billedCredits: number;
  webhookDeliveries: number;
  webhookFailures: number;
};

const Configuration = z
  .object({
    tier: z.enum(['fast', 'cost_effective', 'agentic', 'agentic_plus']),
    version: z.string().min(1),
    user_metadata: z.record(z.string(), z.string()).optional(),
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
  })
  .passthrough();

const fastApiError = (issues: z.core.$ZodIssue[]) => ({
  detail: issues.map((i) => ({ loc: ['body', 'configuration', ...i.path.map(String)], msg: i.message, type: i.code })),
});

export class LlamaParseEmulator {
  readonly jobs = new Map<string, EmulatedJob>();
  /** When each accepted upload arrived (ms since epoch), for rate-limit checks. */
  readonly uploadTimes: number[] = [];
  /** When each API call arrived (ms since epoch). */
  readonly callTimes: number[] = [];
  faults: LlamaParseFaults;
  stats: EmulatorStats = freshStats();
  private server?: Server;
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly options: Required<Omit<LlamaParseEmulatorOptions, 'faults' | 'port' | 'host'>> & {
    port: number;
    host: string;
  };

  constructor(options: LlamaParseEmulatorOptions = {}) {
    this.faults = LlamaParseFaults.parse(options.faults ?? {});
    this.options = {
      port: options.port ?? 0,
      host: options.host ?? '127.0.0.1',
      apiKeys: options.apiKeys ?? ['llx-emulator'],
      startDelayMs: options.startDelayMs ?? 50,
      perPageDelayMs: options.perPageDelayMs ?? 10,
      webhookRetryDelaysMs: options.webhookRetryDelaysMs ?? [1000, 2000, 4000],
      webhookTimeoutMs: options.webhookTimeoutMs ?? 30_000,
      log: options.log ?? (() => {}),
    };
  }

  get url(): string {
    const address = this.server?.address() as AddressInfo | null;
    if (!address) throw new Error('emulator not started');
    return `http://${this.options.host}:${address.port}`;
  }

  async start(): Promise<string> {
    const app = polka({
      onError: (err, _req, res) =>
        sendJson(res as never, (err as { status?: number }).status ?? 500, { detail: String((err as Error).message) }),
    });
    app.use(async (req, res, next) => {
      const key = `${req.method} ${req.path.replace(/\/parse\/[^/]+/, '/parse/{id}')}`;
      if (req.path.startsWith('/_emulator')) return next();
      this.stats.calls[key] = (this.stats.calls[key] ?? 0) + 1;
      this.callTimes.push(Date.now());
      if (this.take('slowResponses')) await sleep(this.faults.slowResponses!.delayMs);
      if (this.faults.unauthorized || !this.options.apiKeys.includes(bearer(req) ?? '')) {
        return sendJson(res, 401, { detail: 'Invalid authentication credentials' });
      }
      if (this.take('serverErrors'))
        return sendJson(res, this.faults.serverErrors!.status, { detail: 'Service Unavailable' });
      next();
    });
    app.post('/api/v2/parse/upload', (req, res) => this.upload(req, res));
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
    app.get('/api/v2/parse', (_req, res) =>
      sendJson(res, 200, { items: [...this.jobs.values()].map((j) => this.jobView(j, false)), next_page_token: null }),
    );
    app.get('/api/v2/parse/:id', (req, res) => {
      const job = this.jobs.get(req.params.id!);
      if (!job) return sendJson(res, 404, { detail: 'Job not found' });
      const url = new URL(req.url, 'http://x');
      const expand = new Set(
        url.searchParams
          .getAll('expand')
          .flatMap((e) => e.split(','))
          .concat(url.searchParams.getAll('expand[]')),
      );
      const body: Record<string, unknown> = { job: this.jobView(job, expand.has('usage')) };
      if (job.status === 'COMPLETED' && job.result) {
        const pages = this.resultPages(job);
        if (expand.has('markdown'))
          body.markdown = {
            pages: pages.map((p) =>
              'error' in p ? p : { page_number: p.page_number, markdown: p.text, success: true },
            ),
          };
        if (expand.has('text'))
          body.text = {
            pages: pages
              .filter((p) => !('error' in p))
              .map((p) => ({ page_number: p.page_number, text: (p as { text: string }).text })),
          };
        if (expand.has('job_metadata'))
          body.job_metadata = { job_pages: job.result.pageCount, job_is_cache_hit: false };
      }
      sendJson(res, 200, body);
    });
    app.post('/api/v2/parse/:id/cancel', (req, res) => {
      const job = this.jobs.get(req.params.id!);
      if (!job) return sendJson(res, 404, { detail: 'Job not found' });
      if (job.status !== 'PENDING' && job.status !== 'RUNNING')
        return sendJson(res, 400, { detail: `Job is already ${job.status} and cannot be cancelled` });
      this.finish(job, 'CANCELLED');
      sendJson(res, 200, this.jobView(job, false));
    });
    // Admin endpoints for tests and demos.
    app.get('/_emulator/stats', (_req, res) => sendJson(res, 200, this.stats));
    app.post('/_emulator/faults', async (req, res) => {
      const parsed = LlamaParseFaults.safeParse(JSON.parse((await readBody(req)).toString() || '{}'));
      if (!parsed.success) return sendJson(res, 400, { detail: parsed.error.issues });
      this.faults = parsed.data;
      sendJson(res, 200, this.faults);
    });
    app.post('/_emulator/reset', (_req, res) => {
      this.stats = freshStats();
      this.faults = {};
      sendJson(res, 200, { ok: true });
    });
    await new Promise<void>((resolve) => app.listen({ port: this.options.port, host: this.options.host }, resolve));
    this.server = app.server as Server;
    return this.url;
  }

  async stop(): Promise<void> {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    if (!this.server) return;
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server!.close(() => resolve()));
  }

  /** Consume one use of a counted fault; true when it applies to this call. */
  private take(name: 'rateLimit' | 'serverErrors' | 'slowResponses' | 'stuckPending' | 'failJobs'): boolean {
    return takeFault(this.faults, name);
  }

  private async upload(req: import('polka').Request, res: import('node:http').ServerResponse) {
    const { file, fileName, configuration } = await readMultipart(req);
    if (this.faults.outOfCredits)
      return sendJson(res, 402, { detail: 'You have run out of credits. Upgrade your plan or add credits.' });
    if (this.take('rateLimit')) {
      const { retryAfterS, retryAfterMs } = this.faults.rateLimit!;
      const headers: Record<string, string> = {};
      if (retryAfterS !== undefined) headers['retry-after'] = String(retryAfterS);
      if (retryAfterMs !== undefined) headers['retry-after-ms'] = String(retryAfterMs);
      return sendJson(res, 429, { detail: 'Rate limit exceeded' }, headers);
    }
    if (!file)
      return sendJson(res, 422, { detail: [{ loc: ['body', 'file'], msg: 'Field required', type: 'missing' }] });
    let config: z.infer<typeof Configuration>;
    try {
      const parsed = Configuration.safeParse(JSON.parse(configuration ?? 'null'));
      if (!parsed.success) return sendJson(res, 422, fastApiError(parsed.error.issues));
      config = parsed.data;
    } catch {
      return sendJson(res, 422, {
        detail: [{ loc: ['body', 'configuration'], msg: 'Invalid JSON', type: 'json_invalid' }],
      });
    }
    const now = new Date().toISOString();
    const webhook = config.webhook_configurations?.[0]; // "only the first entry is used"
    const stuck = this.take('stuckPending');
    const failWith = !stuck && this.take('failJobs') ? this.faults.failJobs!.message : undefined;
    const job: EmulatedJob = {
      id: randomUUID(),
      project_id: 'emulator-project',
      status: 'PENDING',
      name: fileName ?? 'upload',
      tier: config.tier,
      created_at: now,
      updated_at: now,
      error_message: null,
      user_metadata: config.user_metadata ?? {},
      credits: null,
      failedPages: [],
      stuck,
      ...(webhook?.webhook_url ? { webhook: webhook as Webhook } : {}),
      ...(failWith ? { failWith } : {}),
    };
    this.jobs.set(job.id, job);
    this.stats.uploads += 1;
    this.uploadTimes.push(Date.now());
    this.stats.jobs += 1;
    this.options.log(`job ${job.id} created for ${job.name} (${file.length} bytes, tier ${job.tier})`);
    this.emit(job, 'parse.pending');
    this.later(this.options.startDelayMs, () => this.run(job, file));
    sendJson(res, 200, this.jobView(job, false));
  }

  private async run(job: EmulatedJob, file: Buffer) {
    if (job.status !== 'PENDING' || job.stuck) return;
    job.status = 'RUNNING';
    job.updated_at = new Date().toISOString();
    this.emit(job, 'parse.running');
    let result: ParseOutput | undefined;
    let error: string | undefined = job.failWith;
    if (!error) {
      try {
        result = await parseLocally(file, detectType(file));
      } catch (e) {
        const message = (e as Error).message;
        error = /no text layer|no text/.test(message)
          ? `NO_DATA_FOUND_IN_FILE: ${message}`
          : `ERROR_DURING_PROCESSING: ${message}`;
      }
    }
    const pages = result?.pageCount ?? 1;
    this.later(this.options.perPageDelayMs * pages, () => {
      if (job.status !== 'RUNNING') return; // cancelled meanwhile
      if (error || !result) {
        job.error_message = error ?? 'ERROR_DURING_PROCESSING';
        job.credits = 0;
        return this.finish(job, 'FAILED');
      }
      job.result = result;
      const failSet = this.faults.failPages;
      job.failedPages = result.pages
        .filter((p) => failSet === 'all' || failSet?.includes(p.page_number))
        .map((p) => ({ page_number: p.page_number, error: 'PAGE_PARSING_ERROR: the page could not be parsed' }));
      if (job.failedPages.length === result.pages.length) {
        job.error_message = 'All pages failed to parse';
        job.credits = 0;
        return this.finish(job, 'FAILED');
      }
      const billedPages = result.pageCount - job.failedPages.length;
      job.credits = billedPages * (CREDITS_PER_PAGE[job.tier] ?? 3);
      this.stats.billedPages += billedPages;
      this.stats.billedCredits += job.credits;
      this.finish(job, 'COMPLETED');
    });
  }

  private finish(job: EmulatedJob, status: Status) {
    job.status = status;
    job.updated_at = new Date().toISOString();
    const event =
      status === 'COMPLETED'
        ? job.failedPages.length
          ? 'parse.partial_success'
          : 'parse.success'
        : status === 'FAILED'
          ? 'parse.error'
          : 'parse.cancelled';
    this.emit(job, event);
    if (this.faults.webhooks?.outOfOrder && status === 'COMPLETED')
      this.later(20, () => this.emit(job, 'parse.running', true));
  }

  private resultPages(job: EmulatedJob) {
    const failed = new Map(job.failedPages.map((p) => [p.page_number, p]));
    const pages: Array<{ page_number: number; text: string } | { page_number: number; error: string; success: false }> =
      [];
    for (const p of job.result!.pages) {
      const f = failed.get(p.page_number);
      pages.push(
        f
          ? { page_number: p.page_number, error: f.error, success: false }
          : { page_number: p.page_number, text: p.markdown },
      );
    }
    return pages;
  }

  private jobView(job: EmulatedJob, withUsage: boolean) {
    return {
      id: job.id,
      project_id: job.project_id,
      status: job.status,
      name: job.name,
      tier: job.tier,
      created_at: job.created_at,
      updated_at: job.updated_at,
      error_message: job.error_message,
      user_metadata: job.user_metadata,
      ...(withUsage
        ? { usage: job.status === 'COMPLETED' || job.status === 'FAILED' ? { credits: job.credits } : null }
        : {}),
    };
  }

  private emit(job: EmulatedJob, eventType: string, force = false) {
    const hook = job.webhook;
    if (!hook || this.faults.webhooks?.drop) return;
    if (!force && hook.webhook_events?.length && !hook.webhook_events.includes(eventType)) return;
    const envelope = {
      event_id: randomUUID(),
      event_type: eventType,
      timestamp: Date.now() / 1000,
      data: { id: job.id, job_id: job.id },
    };
    const json = JSON.stringify(envelope);
    let body = hook.webhook_output_format === 'json' ? json : JSON.stringify(json);
    if (this.faults.webhooks?.malformed) body = body.slice(0, Math.floor(body.length / 2));
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      'user-agent': 'llamaindex-webhook-service/1.0',
      'x-webhook-event-id': envelope.event_id,
      'x-webhook-event-type': eventType,
      ...Object.fromEntries(Object.entries(hook.webhook_headers ?? {}).map(([k, v]) => [k, String(v)])),
    };
    if (hook.webhook_signing_secret) headers['lc-signature'] = signBody(body, hook.webhook_signing_secret);
    const copies = 1 + (this.faults.webhooks?.duplicates ?? 0);
    for (let i = 0; i < copies; i++) void this.deliver(hook.webhook_url, body, headers);
  }

  private async deliver(url: string, body: string, headers: Record<string, string>) {
    const delays = [0, ...this.options.webhookRetryDelaysMs.slice(0, 2)]; // 3 attempts in all
    for (const delay of delays) {
      if (delay) await sleep(delay);
      try {
        const response = await fetch(url, {
          method: 'POST',
          body,
          headers,
          signal: AbortSignal.timeout(this.options.webhookTimeoutMs),
        });
        await response.arrayBuffer().catch(() => undefined);
        if (response.ok) {
          this.stats.webhookDeliveries += 1;
          return;
        }
      } catch {
        // receiver down: retry
      }
    }
    this.stats.webhookFailures += 1;
  }

  private later(ms: number, fn: () => void) {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      fn();
    }, ms);
    this.timers.add(timer);
  }
}

function freshStats(): EmulatorStats {
  return { calls: {}, uploads: 0, jobs: 0, billedPages: 0, billedCredits: 0, webhookDeliveries: 0, webhookFailures: 0 };
}

function readMultipart(
  req: import('node:http').IncomingMessage,
): Promise<{ file?: Buffer; fileName?: string; configuration?: string }> {
  return new Promise((resolve, reject) => {
    const out: { file?: Buffer; fileName?: string; configuration?: string } = {};
    let parser: busboy.Busboy;
    try {
      parser = busboy({ headers: req.headers, limits: { fileSize: 512 * 1024 * 1024 } });
    } catch (error) {
      return reject(Object.assign(error as Error, { status: 422 }));
    }
    parser.on('file', (name, stream, info) => {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        if (name === 'file') {
          out.file = Buffer.concat(chunks);
          out.fileName = info.filename;
        }
      });
    });
    parser.on('field', (name, value) => {
      if (name === 'configuration') out.configuration = value;
    });
    parser.on('close', () => resolve(out));
    parser.on('error', (e) => reject(Object.assign(e as Error, { status: 422 })));
    req.pipe(parser);
  });
}
