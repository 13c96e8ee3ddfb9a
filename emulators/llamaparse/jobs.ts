// The LlamaParse emulator's job simulation: a job is PENDING for startDelayMs, then RUNNING for
// perPageDelayMs per page, then COMPLETED (results from our local parser, credits from the tier
// table) or FAILED; faults decide otherwise. Each status change emits its webhook event.
import { randomUUID } from 'node:crypto';
import { parseLocally } from '../../lib/parse/local/parseLocally.ts';
import { detectType } from '../../lib/documents/detectType.ts';
import type { ParseOutput } from '../../lib/parse/types.ts';
import { takeFault } from '../takeFault.ts';
import { officePages } from './officePages.ts';
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
  /** page_ranges: only these pages (1-based) are parsed and billed. */
  targetPages?: number[];
  maxPages?: number;
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
  limits: { imagesPerPage: number; textBytesPerPage: number };
  timing: { startDelayMs: number; perPageDelayMs: number };
  later(ms: number, fn: () => void): void;
  emit(job: EmulatedJob, eventType: string, force?: boolean): void;
};

export function createJob(
  sim: Simulation,
  request: {
    fileName: string | undefined;
    tier: string;
    userMetadata?: Record<string, string>;
    webhook?: Webhook;
    targetPages?: number[];
    maxPages?: number;
  },
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
    ...(request.targetPages ? { targetPages: request.targetPages } : {}),
    ...(request.maxPages ? { maxPages: request.maxPages } : {}),
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
      const type = detectType(file);
      const parsed =
        type.kind === 'pptx' || type.kind === 'xlsx'
          ? await officePages(file, type.kind)
          : await parseLocally(file, type);
      result = withinPageLimits(selectPages(parsed, job), sim.limits);
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
      ? {
          usage:
            job.status === 'COMPLETED' || job.status === 'FAILED' || job.status === 'CANCELLED'
              ? { credits: job.credits ?? 0 }
              : null,
        }
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

/** Documented: at most 35 images and 64 KB of text per page. What the service does past them is not
 * documented [I]: the emulator keeps the first 35 images and the first 64 KB (UTF-8) of a page. */
export function withinPageLimits(
  output: ParseOutput,
  limits: { imagesPerPage: number; textBytesPerPage: number },
): ParseOutput {
  const pages = output.pages.map((p) => {
    let images = 0;
    let markdown = p.markdown.replace(/!\[[^\]\n]{0,1000}\]\([^)\n]{0,4000}\)/g, (m) =>
      ++images > limits.imagesPerPage ? '' : m,
    );
    if (Buffer.byteLength(markdown) > limits.textBytesPerPage)
      markdown = Buffer.from(markdown)
        .subarray(0, limits.textBytesPerPage)
        .toString('utf8')
        .replace(/\uFFFD$/, '');
    return { ...p, markdown };
  });
  return { ...output, pages };
}

/** page_ranges.target_pages ("1,3,5-8", 1-based) as sorted page numbers, or what is wrong with it. */
export function parseTargetPages(spec: string): number[] | string {
  const pages: number[] = [];
  for (const part of spec.split(',').map((p) => p.trim())) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part);
    if (!m) return `invalid page range '${part}'`;
    const from = Number(m[1]);
    const to = m[2] === undefined ? from : Number(m[2]);
    if (from < 1 || to < from) return `invalid page range '${part}'`;
    if (to - from > 100_000) return `page range '${part}' is too large`;
    for (let n = from; n <= to; n++) pages.push(n);
  }
  const sorted = [...new Set(pages)].sort((a, b) => a - b);
  if (sorted.length !== pages.length) return 'duplicate pages in target_pages';
  return sorted;
}

/** Only the pages page_ranges selects are parsed (and billed): target_pages, else the first
 * max_pages. pageCount becomes the number of selected pages the document has. */
function selectPages(output: ParseOutput, job: EmulatedJob): ParseOutput {
  const selected = job.targetPages
    ? new Set(job.targetPages)
    : job.maxPages
      ? { has: (n: number) => n <= job.maxPages! }
      : null;
  if (!selected) return output;
  let pageCount = 0;
  for (let n = 1; n <= output.pageCount; n++) if (selected.has(n)) pageCount += 1;
  return {
    pages: output.pages.filter((p) => selected.has(p.page_number)),
    failedPages: output.failedPages.filter((p) => selected.has(p.page_number)),
    pageCount,
  };
}
