// Parse stage, second half: read the LlamaParse job's authoritative status and act on it. Runs on
// a webhook nudge, on a polling schedule (1 s growing to 5 s) or as a reconciliation check when
// webhooks are configured but silent. Collecting twice changes nothing.
import type { Task } from 'graphile-worker';
import { guardedCall } from '../lib/resilience/guardedCall.ts';
import { sql } from 'slonik';
import { z } from 'zod';
import type { PipelineDeps } from '../lib/pipeline/deps.ts';
import { runStage } from '../lib/pipeline/runStage.ts';
import { loadJob, lockJob, addJobNote } from '../lib/pipeline/jobRecord.ts';
import { heldReservation, recordCost, settleReservation, type LedgerEntry } from '../lib/costs/budget.ts';
import { llamaparsePrices } from '../lib/costs/llamaparsePrices.ts';
import { llamaparseCostMicroUsd, llamaparseCredits } from '../lib/costs/pricing.ts';
import type { CommonQueryMethods } from 'slonik';
import { completeParse } from '../lib/pipeline/completeParse.ts';
import { enqueue } from '../lib/jobs/enqueue.ts';
import { permanent } from '../lib/errors.ts';
import type { ParseOutput } from '../lib/parse/types.ts';
import { cleanText } from '../lib/parse/cleanText.ts';
import type { LlamaParseJob } from '../lib/parse/llamaparse/client.ts';

const MAX_RESUBMISSIONS = 2;

export function job__parse_collect(deps: PipelineDeps): Task {
  return (payload, helpers) =>
    runStage('parse', payload, helpers, deps, async ({ jobId, correlationId, payload: p, log }) => {
      const parser = deps.parser;
      if (parser.parser !== 'llamaparse')
        return log.warn('collect: LlamaParse is not configured in this worker; nothing to do');
      const polls = z.number().int().min(0).catch(0).parse(p.polls);
      const job = await loadJob(deps.pool, jobId);
      if (job.state !== 'parse_queued') return log.debug({ state: job.state }, 'collect: job already past parsing');
      if (!job.llamaparse_job_id) {
        await enqueue(deps.pool, 'job__parse', { jobId, correlationId }, { maxAttempts: deps.attempts('job__parse') });
        return log.warn('collect: no LlamaParse job on record; re-enqueued the upload');
      }
      const lpJobId = job.llamaparse_job_id;
      const result = await guardedCall(deps, 'llamaparse', 'get_job', () => parser.client.get(lpJobId));
      const status = result.job.status;
      const who = { parser: 'llamaparse' as const, settingsKey: parser.settingsKey };
      if (status === 'COMPLETED' || status === 'FAILED' || status === 'CANCELLED') {
        // What LlamaParse bills: its usage.credits; when it reports none, our page count, marked estimated.
        const reportedCredits = result.job.usage?.credits ?? null;
        const reservationId = await heldReservation(deps.pool, jobId, 'parse');
        const prices = await llamaparsePrices(deps.pool, deps.config.LLAMAPARSE_TIER);
        const output = status === 'COMPLETED' ? toParseOutput(result) : null;
        const credits = reportedCredits ?? (output ? llamaparseCredits(output.pageCount, prices.creditsPerPage) : 0);
        const bill: LedgerEntry = {
          service: 'llamaparse',
          operation: 'parse',
          units: credits,
          unit: 'credits',
          costMicroUsd: llamaparseCostMicroUsd(credits, prices.microUsdPerCredit),
          estimated: reportedCredits === null,
          jobId,
          correlationId,
          externalId: job.llamaparse_job_id,
          reservationId,
        };
        if (!output || !output.pages.length) {
          await deps.pool.transaction(async (tx) => {
            const locked = await lockJob(tx, jobId);
            if (locked.state !== 'parse_queued' || locked.llamaparse_job_id !== job.llamaparse_job_id) return;
            if (!(await alreadyBilled(tx, job.llamaparse_job_id!))) await recordCost(tx, bill);
            if (reservationId !== null) await settleReservation(tx, reservationId);
          });
          if (output)
            throw permanent(
              `LlamaParse: all ${output.failedPages.length} page(s) failed to parse (${output.failedPages[0]?.error ?? 'no detail'})`,
            );
          throw permanent(
            `LlamaParse job ${job.llamaparse_job_id} ended ${status}: ${result.job.error_message ?? 'no message'}`,
          );
        }
        await completeParse(
          deps.pool,
          jobId,
          who,
          { output, credits: reportedCredits, llamaparseJobId: job.llamaparse_job_id },
          deps.attempts('job__chunk'),
          bill,
        );
        return log.info(
          { pages: output.pages.length, failed_pages: output.failedPages.length, credits },
          'collect: parsed by LlamaParse',
        );
      }
      const waitedS = job.parse_submitted_at ? (Date.now() - job.parse_submitted_at) / 1000 : 0;
      if (waitedS > deps.config.LLAMAPARSE_MAX_WAIT_S) {
        await parser.client
          .cancel(job.llamaparse_job_id)
          .catch((error) => log.warn({ err: error }, 'collect: cancel failed'));
        if (job.parse_resubmissions >= MAX_RESUBMISSIONS) {
          throw permanent(
            `LlamaParse left the job ${status} for ${Math.round(waitedS)} s, ${job.parse_resubmissions + 1} times; cancelled`,
          );
        }
        await deps.pool.transaction(async (tx) => {
          await tx.query(sql.unsafe`
            update jobs set llamaparse_job_id = null, parse_submitted_at = null, parse_resubmissions = parse_resubmissions + 1
            where id = ${jobId}::uuid and llamaparse_job_id = ${job.llamaparse_job_id}`);
          await addJobNote(tx, jobId, {
            event: 'llamaparse_timeout',
            llamaparse_job_id: job.llamaparse_job_id,
            status,
            waited_s: Math.round(waitedS),
            action: 'cancelled and resubmitted',
          });
          await enqueue(tx, 'job__parse', { jobId, correlationId }, { maxAttempts: deps.attempts('job__parse') });
        });
        return log.warn(
          { status, waited_s: Math.round(waitedS) },
          'collect: LlamaParse job exceeded the maximum wait; cancelled and resubmitted',
        );
      }
      // Not finished: look again. Polling mode: every 1 s growing to 5 s. Webhook mode: the webhook
      // will nudge us; this is only the reconciliation check in case it never comes.
      const delayMs = parser.webhook ? deps.config.LLAMAPARSE_RECONCILE_AFTER_S * 1000 : Math.min(5, 1 + polls) * 1000;
      await enqueue(
        deps.pool,
        'job__parse_collect',
        { jobId, correlationId, polls: polls + 1 },
        {
          runAt: new Date(Date.now() + delayMs),
          maxAttempts: deps.attempts('job__parse_collect'),
        },
      );
      log.debug({ status, polls, next_in_ms: delayMs }, 'collect: not finished yet');
    });
}

async function alreadyBilled(db: CommonQueryMethods, llamaparseJobId: string): Promise<boolean> {
  const row = await db.maybeOneFirst(sql.type(z.object({ id: z.number() }))`
    select id::int from cost_ledger where service = 'llamaparse' and external_id = ${llamaparseJobId} limit 1`);
  return row !== null;
}

function toParseOutput(result: LlamaParseJob): ParseOutput {
  const pages: ParseOutput['pages'] = [];
  const failedPages: ParseOutput['failedPages'] = [];
  for (const page of result.markdown?.pages ?? []) {
    if (page.success) pages.push({ page_number: page.page_number, markdown: cleanText(page.markdown) });
    else failedPages.push({ page_number: page.page_number, error: page.error });
  }
  return { pages, failedPages, pageCount: pages.length + failedPages.length };
}
