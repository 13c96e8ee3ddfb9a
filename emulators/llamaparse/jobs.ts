// The LlamaParse emulator's job simulation: a job is PENDING for startDelayMs, then RUNNING for
// perPageDelayMs per page, then COMPLETED (results from our local parser, credits from the tier
// table) or FAILED; faults decide otherwise. Each status change emits its webhook event.
import { randomUUID } from 'node:crypto';
import { parseLocally } from '../../lib/parse/local/parseLocally.ts';
import { detectType } from '../../lib/documents/detectType.ts';
import type { ParseOutput } from '../../lib/parse/types.ts';
import { takeFault } from '../takeFault.ts';
import type { LlamaParseFaults } from './faults.ts';

export const CREDITS_PER_PAGE: Record<string, number> = { fast: 1, cost_effective: 3, agentic: 10, agentic_plus: 45 };

export type Status = 'PENDING' | 'RUNNING' | 'COMPLETED' | 'FAILED' | 'CANCELLED';
export type Webhook = {
  webhook_url: string;
  webhook_events?: string[] | null;
  webhook_headers?: Record<string, unknown> | null;
  webhook_output_format?: 'json' | 'string' | null;
  webhook_signing_secret?: string | null;
};
export type EmulatedJob = {
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

export const freshStats = (): EmulatorStats => ({
  calls: {},
  uploads: 0,
  jobs: 0,
  billedPages: 0,
  billedCredits: 0,
  webhookDeliveries: 0,
  webhookFailures: 0,
});

/** What the simulation needs of the emulator. */
export type Simulation = {
  faults: LlamaParseFaults;
  stats: EmulatorStats;
  timing: { startDelayMs: number; perPageDelayMs: number };
  later(ms: number, fn: () => void): void;
  emit(job: EmulatedJob, eventType: string, force?: boolean): void;
};

export function createJob(
  sim: Simulation,
  request: { fileName: string | undefined; tier: string; userMetadata?: Record<string, string>; webhook?: Webhook },
): EmulatedJob {
  const now = new Date().toISOString();
  const stuck = takeFault(sim.faults, 'stuckPending');
  const failWith = !stuck && takeFault(sim.faults, 'failJobs') ? sim.faults.failJobs!.message : undefined;
  return {
    id: randomUUID(),
    project_id: 'emulator-project',
    status: 'PENDING',
    name: request.fileName ?? 'upload',
    tier: request.tier,
    created_at: now,
    updated_at: now,
    error_message: null,
    user_metadata: request.userMetadata ?? {},
    credits: null,
    failedPages: [],
    stuck,
    ...(request.webhook?.webhook_url ? { webhook: request.webhook } : {}),
    ...(failWith ? { failWith } : {}),
  };
}

export function startJob(sim: Simulation, job: EmulatedJob, file: Buffer) {
  sim.emit(job, 'parse.pending');
  sim.later(sim.timing.startDelayMs, () => void run(sim, job, file));
}

async function run(sim: Simulation, job: EmulatedJob, file: Buffer) {
  if (job.status !== 'PENDING' || job.stuck) return;
  job.status = 'RUNNING';
  job.updated_at = new Date().toISOString();
  sim.emit(job, 'parse.running');
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
  sim.later(sim.timing.perPageDelayMs * pages, () => {
    if (job.status !== 'RUNNING') return; // cancelled meanwhile
    if (error || !result) {
      job.error_message = error ?? 'ERROR_DURING_PROCESSING';
      job.credits = 0;
      return finishJob(sim, job, 'FAILED');
    }
    job.result = result;
    const failSet = sim.faults.failPages;
    job.failedPages = result.pages
      .filter((p) => failSet === 'all' || failSet?.includes(p.page_number))
      .map((p) => ({ page_number: p.page_number, error: 'PAGE_PARSING_ERROR: the page could not be parsed' }));
    if (job.failedPages.length === result.pages.length) {
      job.error_message = 'All pages failed to parse';
      job.credits = 0;
      return finishJob(sim, job, 'FAILED');
    }
    const billedPages = result.pageCount - job.failedPages.length;
    job.credits = billedPages * (CREDITS_PER_PAGE[job.tier] ?? 3);
    sim.stats.billedPages += billedPages;
    sim.stats.billedCredits += job.credits;
    finishJob(sim, job, 'COMPLETED');
  });
}

export function finishJob(sim: Simulation, job: EmulatedJob, status: Status) {
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
  sim.emit(job, event);
  if (sim.faults.webhooks?.outOfOrder && status === 'COMPLETED')
    sim.later(20, () => sim.emit(job, 'parse.running', true));
}

/** The job as the API shows it; usage only when asked for (expand=usage). */
export function jobView(job: EmulatedJob, withUsage: boolean) {
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

/** A completed job's pages, failed ones as errors. */
export function resultPages(job: EmulatedJob) {
  const failed = new Map(job.failedPages.map((p) => [p.page_number, p]));
  return job.result!.pages.map((p) => {
    const f = failed.get(p.page_number);
    return f
      ? { page_number: p.page_number, error: f.error, success: false as const }
      : { page_number: p.page_number, text: p.markdown };
  });
}
