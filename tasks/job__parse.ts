// Parse stage, first half. Bytes already parsed with these settings: reuse. Local parser: parse
// in-process and finish. LlamaParse: reserve the estimate, upload once (the LlamaParse job id is
// stored the moment it is known; a re-run for a job that has one never uploads again) and hand over
// to job__parse_collect, by webhook nudge or by polling.
import type { Task } from 'graphile-worker';
import { callGuard, type PipelineDeps } from '../lib/pipeline/deps.ts';
import { runStage } from '../lib/pipeline/runStage.ts';
import { inStage } from '../lib/pipeline/stageSteps.ts';
import { loadJob, loadDocumentBytes } from '../lib/pipeline/jobRecord.ts';
import { findParseResult, parserIdentity } from '../lib/pipeline/parseResults.ts';
import { completeParse } from '../lib/pipeline/completeParse.ts';
import { abandonUpload, recordSubmission, scheduleCollect } from '../lib/pipeline/llamaparseJobs.ts';
import { isLeaseLost } from '../lib/pipeline/stageRun.ts';
import { guardedCall } from '../lib/resilience/guardedCall.ts';
import { guardSpend, spendSettings } from '../lib/costs/guardSpend.ts';
import { estimateLlamaParse } from '../lib/costs/estimateLlamaParse.ts';

export default function job__parse(deps: PipelineDeps): Task {
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
      // Reserve the estimated cost before the paid call; without room, wait (no attempt used).
      const estimate = await estimateLlamaParse(deps.pool, config.LLAMAPARSE_TIER, bytes, deps.cpu);
      await guardSpend(deps.pool, spendSettings(config), {
        jobId,
        stage: 'parse',
        service: 'llamaparse',
        amountMicroUsd: estimate.microUsd,
        slowed: Boolean(p.slowed),
      });
      const webhook =
        parser.webhook && job.webhook_token
          ? {
              url: `${parser.webhook.baseUrl}/webhooks/llamaparse/${job.webhook_token}`,
              signingSecret: parser.webhook.signingSecret,
            }
          : undefined;
      // Crash window: LlamaParse accepted the upload but we die before recording it. The re-run
      // uploads again; LlamaParse serves identical bytes from its 48 h cache (no second charge).
      const upload = () =>
        parser.client.upload({ bytes, fileName: job.file_name, jobId, correlationId, webhook, runId: run.id });
      await run.confirm(config.LLAMAPARSE_TIMEOUT_MS);
      const { id } = await guardedCall(callGuard(deps), 'llamaparse', 'upload', upload, [['llamaparse:uploads', 1]]);
      const mode = webhook ? 'webhook' : 'polling';
      await recordSubmission(run, ref, {
        llamaparseJobId: id,
        firstCheck: new Date(Date.now() + (webhook ? config.LLAMAPARSE_RECONCILE_AFTER_S * 1000 : 1000)),
        maxAttempts: deps.attempts('job__parse_collect'),
        note: { mode, estimated_pages: estimate.pages, estimate_micro_usd: estimate.microUsd },
      }).catch(async (error: unknown) => {
        const abandoned = {
          ...ref,
          llamaparseJobId: id,
          estimatedCredits: estimate.credits,
          tier: config.LLAMAPARSE_TIER,
        };
        if (isLeaseLost(error)) await abandonUpload(deps.pool, parser.client, abandoned, log);
        throw error;
      });
      log.info({ llamaparse_job_id: id, mode }, 'parse: submitted to LlamaParse');
    });
}
