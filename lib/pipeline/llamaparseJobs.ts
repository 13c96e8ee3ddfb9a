// The parse stage's record of its LlamaParse job: the id stored the moment it is known (a re-run
// for a job that has one never uploads again), the collector scheduled, resubmission after a
// timeout, and what a finished LlamaParse job is billed.
import { sql, type CommonQueryMethods, type DatabasePool } from 'slonik';
import { heldReservation, isBilled, recordCost, settleReservation, type LedgerEntry } from '../costs/budget.ts';
import { llamaparsePrices } from '../costs/llamaparsePrices.ts';
import { llamaparseCostMicroUsd, llamaparseCredits } from '../costs/pricing.ts';
import { enqueue, type EnqueueOptions } from '../jobs/enqueue.ts';
import { addJobNote } from '../jobs/jobNotes.ts';
import type { LlamaParseClient, LlamaParseJob } from '../parse/llamaparse/client.ts';
import type { Logger } from '../log.ts';
import type { ParseOutput } from '../parse/types.ts';
import { stageDef } from '../jobs/stages.ts';
import { loadJob, lockJob } from './jobRecord.ts';
import type { StageRun } from './stageRun.ts';

type JobRef = { jobId: string; correlationId: string };

export async function scheduleCollect(
  db: CommonQueryMethods,
  job: JobRef & { polls: number },
  runAt: Date,
  options: Omit<EnqueueOptions, 'runAt'> = {},
) {
  await enqueue(db, 'job__parse_collect', job, { ...options, runAt });
}

/** Stores the LlamaParse job id (unless a concurrent run stored its own first), notes the
 * submission and schedules the first collection, in one transaction. */
export async function recordSubmission(
  run: StageRun,
  job: JobRef,
  submission: {
    llamaparseJobId: string;
    firstCheck: Date;
    maxAttempts: number;
    note: Record<string, unknown>;
    /** page_ranges.max_pages the upload carried, and whether the count behind it is exact. */
    maxPages: number;
    exact: boolean;
  },
) {
  await run.write(async (tx) => {
    const stored = await tx.query(sql.unsafe`
      update jobs set llamaparse_job_id = ${submission.llamaparseJobId}, parse_submitted_at = now(),
                      parse_max_pages = ${submission.maxPages}, parse_pages_exact = ${submission.exact}
      where id = ${job.jobId}::uuid and llamaparse_job_id is null`);
    if (stored.rowCount === 0) return;
    await addJobNote(tx, job.jobId, {
      event: 'submitted_to_llamaparse',
      llamaparse_job_id: submission.llamaparseJobId,
      ...submission.note,
    });
    await scheduleCollect(tx, { ...job, polls: 0 }, submission.firstCheck, { maxAttempts: submission.maxAttempts });
  });
}

/** Forgets a LlamaParse job that took too long (it was cancelled) and queues a new upload. */
export async function resubmitParse(
  run: StageRun,
  job: JobRef,
  previous: { llamaparseJobId: string; maxAttempts: number; note: Record<string, unknown> },
) {
  await run.write(async (tx) => {
    await tx.query(sql.unsafe`
      update jobs set llamaparse_job_id = null, parse_submitted_at = null, parse_resubmissions = parse_resubmissions + 1
      where id = ${job.jobId}::uuid and llamaparse_job_id = ${previous.llamaparseJobId}`);
    await addJobNote(tx, job.jobId, {
      event: 'llamaparse_timeout',
      llamaparse_job_id: previous.llamaparseJobId,
      ...previous.note,
    });
    await enqueue(tx, 'job__parse', job, { maxAttempts: previous.maxAttempts });
  });
}

/** What LlamaParse bills for a finished job: its usage.credits; when it reports none, our page
 * count, marked estimated. Charged against the parse stage's reservation. */
export async function llamaparseBill(
  db: CommonQueryMethods,
  job: JobRef & { llamaparseJobId: string },
  result: LlamaParseJob,
  output: ParseOutput | null,
  tier: string,
): Promise<LedgerEntry> {
  const reported = result.job.usage?.credits ?? null;
  const prices = await llamaparsePrices(db, tier);
  const credits = reported ?? (output ? llamaparseCredits(output.pageCount, prices.creditsPerPage) : 0);
  return {
    service: 'llamaparse',
    operation: 'parse',
    units: credits,
    unit: 'credits',
    costMicroUsd: llamaparseCostMicroUsd(credits, prices.microUsdPerCredit),
    estimated: reported === null,
    jobId: job.jobId,
    correlationId: job.correlationId,
    externalId: job.llamaparseJobId,
    reservationId: await heldReservation(db, job.jobId, 'parse'),
  };
}

/** A LlamaParse job that produced nothing is still billed (once) and its reservation settled. */
export async function chargeFailedParse(run: StageRun, jobId: string, llamaparseJobId: string, bill: LedgerEntry) {
  await run.write(async (tx) => {
    const locked = await lockJob(tx, jobId);
    if (locked.state !== stageDef('parse').startsFrom || locked.llamaparse_job_id !== llamaparseJobId) return;
    if (!(await isBilled(tx, 'llamaparse', llamaparseJobId))) await recordCost(tx, { ...bill, leaseToken: run.token });
    if (bill.reservationId !== null) await settleReservation(tx, bill.reservationId);
  });
}

/** An upload whose run lost the stage before it could record it (the process was frozen past its
 * lease): the LlamaParse job is cancelled and what it cost is written down, from LlamaParse's
 * usage or, when it reports none, the estimate (marked estimated): never paid and unrecorded. */
export async function abandonUpload(
  pool: DatabasePool,
  client: LlamaParseClient,
  upload: JobRef & { llamaparseJobId: string; estimatedCredits: number; tier: string },
  log: Logger,
) {
  // The run that took the stage over may have found this upload (by user_metadata) and adopted it:
  // then it is that run's job, collected and billed there; cancelling it would lose the parse.
  if ((await loadJob(pool, upload.jobId)).llamaparse_job_id === upload.llamaparseJobId)
    return log.info({ llamaparse_job_id: upload.llamaparseJobId }, 'parse: the abandoned upload was adopted; kept');
  await client
    .cancel(upload.llamaparseJobId)
    .catch((error) => log.warn({ err: error }, 'could not cancel the abandoned LlamaParse job'));
  const result = await client.get(upload.llamaparseJobId).catch(() => null);
  const reported = result?.job.usage?.credits ?? null;
  const credits = reported ?? upload.estimatedCredits;
  const prices = await llamaparsePrices(pool, upload.tier);
  await pool.transaction(async (tx) => {
    if (await isBilled(tx, 'llamaparse', upload.llamaparseJobId)) return;
    await recordCost(tx, {
      service: 'llamaparse',
      operation: 'parse_abandoned',
      units: credits,
      unit: 'credits',
      costMicroUsd: llamaparseCostMicroUsd(credits, prices.microUsdPerCredit),
      estimated: reported === null,
      jobId: upload.jobId,
      correlationId: upload.correlationId,
      externalId: upload.llamaparseJobId,
      reservationId: null,
    });
    await addJobNote(tx, upload.jobId, {
      event: 'llamaparse_job_abandoned',
      llamaparse_job_id: upload.llamaparseJobId,
      credits,
      estimated: reported === null,
      reason: 'the uploading run lost its lease on the parse stage; the job was cancelled',
    });
  });
  log.warn({ llamaparse_job_id: upload.llamaparseJobId, credits }, 'parse: abandoned upload cancelled and billed');
}
