// Parse stage, second half: read the LlamaParse job's authoritative status and act on it. Runs on
// a webhook nudge, on a polling schedule (1 s growing to 5 s) or as a reconciliation check when
// webhooks are configured but silent. Collecting twice changes nothing.
import type { Task } from 'graphile-worker';
import { z } from 'zod';
import { callGuard, type PipelineDeps } from '../lib/pipeline/deps.ts';
import { runStage } from '../lib/pipeline/runStage.ts';
import { inStage } from '../lib/pipeline/stageSteps.ts';
import { loadJob } from '../lib/pipeline/jobRecord.ts';
import { completeParse } from '../lib/pipeline/completeParse.ts';
import {
  chargeFailedParse,
  llamaparseBill,
  resubmitParse,
  scheduleCollect,
  stoppedJobBill,
} from '../lib/pipeline/llamaparseJobs.ts';
import { FINISHED_STATUSES, toParseOutput } from '../lib/parse/llamaparse/toParseOutput.ts';
import { guardedCall } from '../lib/resilience/guardedCall.ts';
import { enqueue } from '../lib/jobs/enqueue.ts';
import { permanent, transient } from '../lib/errors.ts';

const MAX_RESUBMISSIONS = 2;

export default function job__parse_collect(deps: PipelineDeps): Task {
  return (payload, helpers) =>
    runStage('parse', payload, helpers, deps, async ({ jobId, correlationId, payload: p, log, run }) => {
      const { parser, config } = deps;
      if (parser.parser !== 'llamaparse')
        return log.warn('collect: LlamaParse is not configured in this worker; nothing to do');
      const polls = z.number().int().min(0).catch(0).parse(p.polls);
      const job = await loadJob(deps.pool, jobId);
      if (!inStage('parse', job.state)) return log.debug({ state: job.state }, 'collect: job already past parsing');
      const ref = { jobId, correlationId };
      const lpJobId = job.llamaparse_job_id;
      if (!lpJobId) {
        await enqueue(deps.pool, 'job__parse', ref, { maxAttempts: deps.attempts('job__parse') });
        return log.warn('collect: no LlamaParse job on record; re-enqueued the upload');
      }
      const result = await guardedCall(callGuard(deps), 'llamaparse', 'get_job', () => parser.client.get(lpJobId));
      const { status } = result.job;
      const waitedS = job.parse_submitted_at ? (Date.now() - job.parse_submitted_at) / 1000 : 0;
      const timedOut = waitedS > config.LLAMAPARSE_MAX_WAIT_S;
      // CANCELLED after the maximum wait: our own cancellation, whose resubmission did not happen
      // yet (this collector died between the two): resubmitted below, not failed.
      if (FINISHED_STATUSES.includes(status as never) && !(status === 'CANCELLED' && timedOut)) {
        const output = status === 'COMPLETED' ? toParseOutput(result) : null;
        const bill = await llamaparseBill(
          deps.pool,
          { ...ref, llamaparseJobId: lpJobId },
          result,
          output,
          config.LLAMAPARSE_TIER,
        );
        if (!output?.pages.length) {
          await chargeFailedParse(run, jobId, lpJobId, bill);
          throw permanent(
            output
              ? `LlamaParse: all ${output.failedPages.length} page(s) failed to parse (${output.failedPages[0]?.error ?? 'no detail'})`
              : `LlamaParse job ${lpJobId} ended ${status}: ${result.job.error_message ?? 'no message'}`,
          );
        }
        // The upload carried page_ranges.max_pages = the pages reserved. A count that was only an
        // estimate (DOCX, HTML) and that LlamaParse filled may have left pages beyond the cap:
        // fail with the reason (what was parsed is billed) rather than drop them silently.
        const cap = job.parse_max_pages;
        if (cap !== null && job.parse_pages_exact === false && output.pageCount >= cap) {
          await chargeFailedParse(run, jobId, lpJobId, bill);
          throw permanent(
            `LlamaParse stopped at the ${cap} page(s) reserved (page_ranges.max_pages, an estimate for this kind of document) and the document may be longer; convert it to PDF so its pages can be counted, and ingest it again`,
          );
        }
        const who = { parser: 'llamaparse' as const, settingsKey: parser.settingsKey };
        const credits = result.job.usage?.credits ?? null;
        await completeParse(run, ref, who, { output, credits, llamaparseJobId: lpJobId }, deps.attempts, bill);
        return log.info(
          { pages: output.pages.length, failed_pages: output.failedPages.length, credits: bill.units },
          'collect: parsed by LlamaParse',
        );
      }
      if (timedOut) {
        // Cancel, then ask LlamaParse what the job billed (a job cancelled mid-parse may have): that
        // is charged before a new upload is queued. A job that finished meanwhile is collected; one
        // whose cancellation did not take is tried again (its outcome is still open).
        let stopped = result;
        if (status !== 'CANCELLED') {
          await parser.client.cancel(lpJobId).catch((error) => log.warn({ err: error }, 'collect: cancel failed'));
          stopped = await guardedCall(callGuard(deps), 'llamaparse', 'get_job', () => parser.client.get(lpJobId));
          if (stopped.job.status === 'COMPLETED' || stopped.job.status === 'FAILED') {
            await scheduleCollect(deps.pool, { ...ref, polls: polls + 1 }, new Date(), {
              maxAttempts: deps.attempts('job__parse_collect'),
            });
            return log.info({ status: stopped.job.status }, 'collect: the job finished as it was being cancelled');
          }
          if (stopped.job.status !== 'CANCELLED')
            throw transient(`LlamaParse job ${lpJobId} is still ${stopped.job.status} after a cancel; will try again`);
        }
        const bill = await stoppedJobBill(
          deps.pool,
          { ...ref, llamaparseJobId: lpJobId },
          stopped,
          job.parse_max_pages ?? 1,
          config.LLAMAPARSE_TIER,
        );
        if (job.parse_resubmissions >= MAX_RESUBMISSIONS) {
          await chargeFailedParse(run, jobId, lpJobId, bill);
          throw permanent(
            `LlamaParse left the job ${status} for ${Math.round(waitedS)} s, ${job.parse_resubmissions + 1} times; cancelled`,
          );
        }
        const note = { status, waited_s: Math.round(waitedS), action: 'cancelled and resubmitted' };
        await resubmitParse(run, ref, {
          llamaparseJobId: lpJobId,
          maxAttempts: deps.attempts('job__parse'),
          note,
          bill,
        });
        return log.warn(note, 'collect: LlamaParse job exceeded the maximum wait; cancelled and resubmitted');
      }
      // Not finished: look again. Polling mode: every 1 s growing to 5 s. Webhook mode: the webhook
      // will nudge us; this is only the reconciliation check in case it never comes.
      const delayMs = parser.webhook ? config.LLAMAPARSE_RECONCILE_AFTER_S * 1000 : Math.min(5, 1 + polls) * 1000;
      const next = { ...ref, polls: polls + 1 };
      await scheduleCollect(deps.pool, next, new Date(Date.now() + delayMs), {
        maxAttempts: deps.attempts('job__parse_collect'),
      });
      log.debug({ status, polls, next_in_ms: delayMs }, 'collect: not finished yet');
    });
}
