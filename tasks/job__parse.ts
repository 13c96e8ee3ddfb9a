// Parse stage, first half. Bytes already parsed with these settings: reuse. Local parser: parse
// in-process and finish. LlamaParse: count the pages, reserve what they can cost, upload once with
// page_ranges.max_pages = those pages (the LlamaParse job id is stored the moment it is known; a
// re-run for a job that has one never uploads again, and one whose upload's answer was lost adopts
// the LlamaParse job it finds by user_metadata) and hand over to job__parse_collect, by webhook
// nudge or by polling.
import type { Task } from 'graphile-worker';
import { callGuard, type PipelineDeps } from '../lib/pipeline/deps.ts';
import { runStage } from '../lib/pipeline/runStage.ts';
import { inStage } from '../lib/pipeline/stageSteps.ts';
import { loadJob, loadDocumentBytes } from '../lib/pipeline/jobRecord.ts';
import { findParseResult, parserIdentity } from '../lib/pipeline/parseResults.ts';
import { completeParse } from '../lib/pipeline/completeParse.ts';
import {
  abandonUpload,
  chargeCancelledUploads,
  recordSubmission,
  scheduleCollect,
} from '../lib/pipeline/llamaparseJobs.ts';
import { isLeaseLost } from '../lib/pipeline/stageRun.ts';
import { guardedCall } from '../lib/resilience/guardedCall.ts';
import { guardSpend, spendSettings } from '../lib/costs/guardSpend.ts';
import { beginPaidCall, clearPaidCall, pendingCallSince } from '../lib/costs/budget.ts';
import { DeferError, permanent, StageError } from '../lib/errors.ts';
import { estimateLlamaParse } from '../lib/costs/estimateLlamaParse.ts';

// The list's created_at is LlamaParse's clock: look a little before our own record of the call.
const LIST_CLOCK_SLACK_MS = 10 * 60_000;

export default function job__parse(deps: PipelineDeps): Task {
  const webhookFor = (job: { webhook_token: string | null }) => {
    const { parser } = deps;
    return parser.parser === 'llamaparse' && parser.webhook && job.webhook_token
      ? {
          url: `${parser.webhook.baseUrl}/webhooks/llamaparse/${job.webhook_token}`,
          signingSecret: parser.webhook.signingSecret,
        }
      : undefined;
  };
  return (payload, helpers) =>
    runStage('parse', payload, helpers, deps, async ({ jobId, correlationId, payload: p, log, run }) => {
      const job = await loadJob(deps.pool, jobId);
      if (!inStage('parse', job.state))
        return log.info({ state: job.state }, 'parse: job is not waiting for a parse; nothing to do');
      const { parser, config } = deps;
      const who = parserIdentity(parser);
      const ref = { jobId, correlationId };
      const reuse = await findParseResult(deps.pool, job.document_id, who);
      if (reuse !== null) {
        await completeParse(run, ref, who, { reuse }, deps.attempts);
        return log.info({ parse_result_id: reuse }, 'parse: same bytes already parsed with these settings; reused');
      }
      if (parser.parser === 'local') {
        const output = await deps.cpu.parse(await loadDocumentBytes(deps.pool, job.document_id));
        await completeParse(run, ref, who, { output, credits: null, llamaparseJobId: null }, deps.attempts);
        return log.info({ pages: output.pages.length, page_count: output.pageCount }, 'parse: parsed locally');
      }
      if (job.llamaparse_job_id) {
        // Uploaded by an earlier run that crashed before scheduling the collector: just collect.
        await scheduleCollect(deps.pool, { ...ref, polls: 0 }, new Date(), { jobKeyMode: 'preserve_run_at' });
        return log.info({ llamaparse_job_id: job.llamaparse_job_id }, 'parse: already submitted; collecting');
      }
      const bytes = await loadDocumentBytes(deps.pool, job.document_id);
      // The most LlamaParse can bill: pages counted as the parser counts them. A document that
      // cannot be counted stays off the paid path.
      const estimate = await estimateLlamaParse(deps.pool, config.LLAMAPARSE_TIER, bytes, deps.cpu);
      if (estimate.pages === null) throw permanent(`not sent to LlamaParse: ${estimate.reason}`);
      const mode = webhookFor(job) ? 'webhook' : 'polling';
      const submission = (id: string, note: Record<string, unknown>) => ({
        llamaparseJobId: id,
        firstCheck: new Date(Date.now() + (mode === 'webhook' ? config.LLAMAPARSE_RECONCILE_AFTER_S * 1000 : 1000)),
        maxAttempts: deps.attempts('job__parse_collect'),
        maxPages: estimate.pages,
        exact: estimate.exact,
        note: {
          mode,
          pages: estimate.pages,
          pages_counted_by: estimate.how,
          max_micro_usd: estimate.microUsd,
          ...note,
        },
      });
      // A previous run started an upload and never recorded its answer (it died, or the answer was
      // lost): look for that LlamaParse job by our job id (user_metadata) and adopt it.
      const pendingSince = await pendingCallSince(deps.pool, jobId, 'parse');
      if (pendingSince) {
        const since = new Date(pendingSince.getTime() - LIST_CLOCK_SLACK_MS);
        const found = await guardedCall(callGuard(deps), 'llamaparse', 'list', () =>
          parser.client.findUploads(jobId, since),
        );
        // Cancelled ones of ours may have billed (a cancel mid-parse): ask LlamaParse and charge them.
        const cancelled = found.filter((j) => j.status === 'CANCELLED').map((j) => j.id);
        if (cancelled.length)
          await chargeCancelledUploads(
            deps.pool,
            run,
            ref,
            parser.client,
            cancelled,
            estimate.pages,
            config.LLAMAPARSE_TIER,
          );
        const lost = found.find((j) => j.status !== 'CANCELLED');
        if (lost) {
          await recordSubmission(run, ref, submission(lost.id, { adopted: true }));
          return log.info({ llamaparse_job_id: lost.id }, 'parse: adopted the upload a previous run never recorded');
        }
        // No live upload of ours: the pending call never reached LlamaParse, or it was cancelled and
        // is charged above as LlamaParse reports it.
        await clearPaidCall(deps.pool, jobId, 'parse', run.token);
      }
      // Reserve the most the upload can cost before making it; without room, wait (no attempt used).
      const reservationId = await guardSpend(deps.pool, spendSettings(config), {
        jobId,
        stage: 'parse',
        service: 'llamaparse',
        amountMicroUsd: estimate.microUsd,
        slowed: Boolean(p.slowed),
        leaseToken: run.token,
      });
      const webhook = webhookFor(job);
      // LlamaParse parses (and bills) at most the pages reserved: page_ranges.max_pages.
      // The upload's own deadline, from its size and LlamaParse's recent upload latency (at most
      // LLAMAPARSE_TIMEOUT_MS): it is aborted then, and its lease covers just that.
      const deadlineMs = deps.latency.llamaparse.deadlineMs(bytes.length, config.LLAMAPARSE_TIMEOUT_MS);
      const upload = async () => {
        const started = performance.now();
        try {
          const answer = await parser.client.upload({
            bytes,
            fileName: job.file_name,
            jobId,
            correlationId,
            webhook,
            runId: run.id,
            maxPages: estimate.pages,
            timeoutMs: deadlineMs,
          });
          deps.latency.llamaparse.observe(performance.now() - started, bytes.length);
          return answer;
        } catch (error) {
          if (performance.now() - started >= deadlineMs - 50)
            deps.latency.llamaparse.timedOut(deadlineMs, bytes.length);
          throw error;
        }
      };
      await run.confirm(deadlineMs);
      // Crash window: LlamaParse accepted the upload but we die before recording it. The call is
      // pending on the reservation until then: the re-run finds the LlamaParse job and adopts it,
      // and a reservation that expires first is charged (estimated), never silently released.
      await beginPaidCall(deps.pool, reservationId, estimate.microUsd, run.token);
      const { id } = await guardedCall(callGuard(deps), 'llamaparse', 'upload', upload, [
        ['llamaparse:uploads', 1],
      ]).catch(async (error: unknown) => {
        // Refused with an answer (LlamaParse said no): nothing was billed.
        if (error instanceof DeferError || (error instanceof StageError && error.status !== undefined))
          await clearPaidCall(deps.pool, jobId, 'parse', run.token);
        throw error;
      });
      await recordSubmission(run, ref, submission(id, {})).catch(async (error: unknown) => {
        const abandoned = {
          ...ref,
          llamaparseJobId: id,
          estimatedCredits: estimate.credits,
          tier: config.LLAMAPARSE_TIER,
        };
        if (isLeaseLost(error)) await abandonUpload(deps.pool, parser.client, abandoned, log);
        throw error;
      });
      log.info({ llamaparse_job_id: id, mode, max_pages: estimate.pages }, 'parse: submitted to LlamaParse');
    });
}
