// The parse stage's record of its LlamaParse job: the id stored the moment it is known (a re-run
// for a job that has one never uploads again), the collector scheduled, resubmission after a
// timeout, and what a finished LlamaParse job is billed.
import { sql, type CommonQueryMethods, type DatabasePool } from 'slonik';
import {
  clearPaidCall,
  heldReservation,
  isBilled,
  namePaidCall,
  recordCost,
  settleReservation,
  type LedgerEntry,
} from '../costs/budget.ts';
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
    // The pending upload now has a name: an estimate charged for it is replaced by its real bill.
    await namePaidCall(tx, job.jobId, 'parse', run.token, submission.llamaparseJobId);
    await addJobNote(tx, job.jobId, {
      event: 'submitted_to_llamaparse',
      llamaparse_job_id: submission.llamaparseJobId,
      ...submission.note,
    });
    await scheduleCollect(tx, { ...job, polls: 0 }, submission.firstCheck, { maxAttempts: submission.maxAttempts });
  });
}

/** Forgets a LlamaParse job that took too long (it was cancelled) and queues a new upload. What
 * the cancelled job billed (LlamaParse's word, `bill`) is charged in the same transaction, which
 * ends its pending call: a re-run never takes it for an upload that never reached LlamaParse. */
export async function resubmitParse(
  run: StageRun,
  job: JobRef,
  previous: { llamaparseJobId: string; maxAttempts: number; note: Record<string, unknown>; bill: LedgerEntry },
) {
  await run.write(async (tx) => {
    const forgotten = await tx.query(sql.unsafe`
      update jobs set llamaparse_job_id = null, parse_submitted_at = null, parse_resubmissions = parse_resubmissions + 1
      where id = ${job.jobId}::uuid and llamaparse_job_id = ${previous.llamaparseJobId}`);
    if (forgotten.rowCount === 0) return;
    await chargeStoppedJob(tx, run, previous.bill, true);
    await addJobNote(tx, job.jobId, {
      event: 'llamaparse_timeout',
      llamaparse_job_id: previous.llamaparseJobId,
      credits: previous.bill.units,
      billed: previous.bill.costMicroUsd > 0,
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

/** What a LlamaParse job that was stopped (cancelled) bills, in LlamaParse's words: its
 * usage.credits (0 when it billed nothing). When LlamaParse reports no usage, the outcome is
 * unknown: the most it can bill (the pages it was allowed, `maxPages`), marked estimated. */
export async function stoppedJobBill(
  db: CommonQueryMethods,
  job: JobRef & { llamaparseJobId: string },
  result: LlamaParseJob | null,
  maxPages: number,
  tier: string,
): Promise<LedgerEntry> {
  const reported = result?.job.usage?.credits ?? null;
  const prices = await llamaparsePrices(db, tier);
  const credits = reported ?? llamaparseCredits(maxPages, prices.creditsPerPage);
  return {
    service: 'llamaparse',
    operation: 'parse_cancelled',
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

/** Charges a stopped job's bill once. A job that billed nothing gets no ledger row: its pending
 * call is cleared, and an estimate charged for it meanwhile is replaced by a row of 0. */
async function chargeStoppedJob(tx: CommonQueryMethods, run: StageRun, bill: LedgerEntry, clearPending: boolean) {
  if (await isBilled(tx, 'llamaparse', bill.externalId!)) return;
  const estimated = await tx.exists(sql.unsafe`
    select 1 from cost_ledger l where l.service = 'llamaparse' and l.operation = 'unrecorded_call'
      and (l.external_id = ${bill.externalId} or l.reservation_id in (
        select id from budget_reservations where pending_call_ref = ${bill.externalId}))`);
  if (bill.costMicroUsd > 0 || estimated)
    await recordCost(tx, { ...bill, reservationId: clearPending ? bill.reservationId : null, leaseToken: run.token });
  else if (clearPending) await clearPaidCall(tx, bill.jobId!, 'parse', run.token);
}

/** LlamaParse jobs of ours that a re-run finds cancelled and unbilled (the upload that timed out
 * while its collector died before charging it): billed as LlamaParse reports. */
export async function chargeCancelledUploads(
  pool: DatabasePool,
  run: StageRun,
  job: JobRef,
  client: LlamaParseClient,
  cancelled: string[],
  maxPages: number,
  tier: string,
) {
  for (const llamaparseJobId of cancelled) {
    if (await isBilled(pool, 'llamaparse', llamaparseJobId)) continue;
    const result = await client.get(llamaparseJobId);
    const bill = await stoppedJobBill(pool, { ...job, llamaparseJobId }, result, maxPages, tier);
    await run.write(async (tx) => {
      await chargeStoppedJob(tx, run, bill, false);
      if (bill.costMicroUsd > 0)
        await addJobNote(tx, job.jobId, {
          event: 'llamaparse_cancelled_job_billed',
          llamaparse_job_id: llamaparseJobId,
          credits: bill.units,
          status: result.job.status,
        });
    });
  }
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
