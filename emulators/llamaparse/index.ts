// A LlamaParse emulator: a real HTTP server speaking the v2 parse API the official SDK calls
// (../shared/reference/llamaparse-api.md), with the documented auth, statuses, error shapes and
// webhook delivery. Routes in routes.ts, the job simulation in jobs.ts, the webhook sender in
// webhooks.ts, the fault model in faults.ts.
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import polka from 'polka';
import { sendJson } from '../http.ts';
import { LlamaParseFaults } from './faults.ts';
import { freshStats, type EmulatedJob, type EmulatorStats, type Simulation } from './jobs.ts';
import { addRoutes } from './routes.ts';
import { sendWebhook } from './webhooks.ts';

export { CREDITS_PER_PAGE, type EmulatorStats } from './jobs.ts';

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
  /** The documented limits (llamaparse-api.md), lowered by tests that hold the emulator to them. */
  limits?: Partial<LlamaParseLimits>;
};

/** LlamaParse's documented limits: file size, uploads per 10 s (per organization), images and
 * text per page. */
export type LlamaParseLimits = {
  maxFileBytes: number;
  uploadsPer10s: number;
  imagesPerPage: number;
  textBytesPerPage: number;
};
export const LLAMAPARSE_LIMITS: LlamaParseLimits = {
  maxFileBytes: 512 * 1024 * 1024,
  uploadsPer10s: 50,
  imagesPerPage: 35,
  textBytesPerPage: 64 * 1024,
};

export class LlamaParseEmulator {
  readonly jobs = new Map<string, EmulatedJob>();
  /** When each accepted upload arrived (ms since epoch), for rate-limit checks. */
  readonly uploadTimes: number[] = [];
  /** When each API call arrived (ms since epoch). */
  readonly callTimes: number[] = [];
  /** Every call as it arrived (before faults): its route, who sent it (X-TVDB-Run), when. */
  readonly received: Array<{ call: string; run: string | null; at: number }> = [];
  /** Every accepted upload: who made it (X-TVDB-Run), when it arrived and was answered, for which of our jobs. */
  readonly uploadLog: Array<{
    run: string | null;
    startedAt: number;
    endedAt: number;
    tvdbJobId: string | null;
    id: string;
  }> = [];
  readonly apiKeys: string[];
  readonly limits: LlamaParseLimits;
  readonly log: (message: string) => void;
  faults: LlamaParseFaults;
  stats: EmulatorStats = freshStats();
  readonly simulation: Simulation;
  private server?: Server;
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly listen: { port: number; host: string };

  constructor(options: LlamaParseEmulatorOptions = {}) {
    this.faults = LlamaParseFaults.parse(options.faults ?? {});
    this.listen = { port: options.port ?? 0, host: options.host ?? '127.0.0.1' };
    this.apiKeys = options.apiKeys ?? ['llx-emulator'];
    this.limits = { ...LLAMAPARSE_LIMITS, ...options.limits };
    this.log = options.log ?? (() => {});
    const emu = this;
    const sender = {
      retryDelaysMs: options.webhookRetryDelaysMs ?? [1000, 2000, 4000],
      timeoutMs: options.webhookTimeoutMs ?? 30_000,
      get stats() {
        return emu.stats;
      },
    };
    this.simulation = {
      get faults() {
        return emu.faults;
      },
      get stats() {
        return emu.stats;
      },
      limits: this.limits,
      timing: { startDelayMs: options.startDelayMs ?? 50, perPageDelayMs: options.perPageDelayMs ?? 10 },
      later: (ms, fn) => this.later(ms, fn),
      emit: (job, eventType, force) => sendWebhook(sender, this.faults, job, eventType, force),
    };
  }

  get url(): string {
    const address = this.server?.address() as AddressInfo | null;
    if (!address) throw new Error('emulator not started');
    return `http://${this.listen.host}:${address.port}`;
  }

  async start(): Promise<string> {
    const app = polka({
      onError: (err, _req, res) =>
        sendJson(res as never, (err as { status?: number }).status ?? 500, { detail: String((err as Error).message) }),
    });
    addRoutes(app, this);
    await new Promise<void>((resolve) => app.listen(this.listen, resolve));
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

  private later(ms: number, fn: () => void) {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      fn();
    }, ms);
    this.timers.add(timer);
  }
}
