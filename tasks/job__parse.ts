// Parse stage, first half. Local parser: parse in-process and finish. LlamaParse: upload once (the
// LlamaParse job id is stored the moment it is known; a re-run for a job that has one never uploads
// again) and hand over to job__parse_collect, by webhook nudge or by polling.
import type { Task } from 'graphile-worker';
import { guardedCall } from '../lib/resilience/guardedCall.ts';
import { sql } from 'slonik';
import type { PipelineDeps } from '../lib/pipeline/deps.ts';
import { runStage } from '../lib/pipeline/runStage.ts';
import { loadJob, loadDocumentBytes, addJobNote } from '../lib/pipeline/jobRecord.ts';
import { findParseResult } from '../lib/pipeline/parseResults.ts';
import { completeParse } from '../lib/pipeline/completeParse.ts';
import { parseLocally } from '../lib/parse/local/parseLocally.ts';
import { enqueue } from '../lib/jobs/enqueue.ts';
import { guardSpend } from '../lib/costs/guardSpend.ts';
import { estimatePages } from '../lib/costs/estimatePages.ts';
import { llamaparsePrices } from '../lib/costs/llamaparsePrices.ts';
import { llamaparseCostMicroUsd, llamaparseCredits } from '../lib/costs/pricing.ts';

export function job__parse(deps: PipelineDeps): Task {
  return (payload, helpers) =>
    runStage('parse', payload, helpers, deps, async ({ jobId, correlationId, payload: p, log }) => {
      const job = await loadJob(deps.pool, jobId);
      if (job.state !== 'parse_queued')
        return log.info({ state: job.state }, 'parse: job is not waiting for a parse; nothing to do');
      const parser = deps.parser;
      const who = { parser: parser.parser, settingsKey: parser.settingsKey };
      const reuse = await findParseResult(deps.pool, job.document_id, who);
      if (reuse !== null) {
        await completeParse(deps.pool, jobId, who, { reuse }, deps.attempts('job__chunk'));
        return log.info({ parse_result_id: reuse }, 'parse: same bytes already parsed with these settings; reused');
      }
      if (parser.parser === 'local') {
        const bytes = await loadDocumentBytes(deps.pool, job.document_id);
        const output = await parseLocally(bytes);
        await completeParse(
          deps.pool,
          jobId,
          who,
          { output, credits: null, llamaparseJobId: null },
          deps.attempts('job__chunk'),
        );
        return log.info({ pages: output.pages.length, page_count: output.pageCount }, 'parse: parsed locally');
      }
      const collect = (runAt: Date) =>
        enqueue(
          deps.pool,
          'job__parse_collect',
          { jobId, correlationId, polls: 0 },
          { jobKeyMode: 'preserve_run_at', runAt },
        );
      if (job.llamaparse_job_id) {
        // Uploaded by an earlier run that crashed before scheduling the collector: just collect.
        await collect(new Date());
        return log.info({ llamaparse_job_id: job.llamaparse_job_id }, 'parse: already submitted; collecting');
      }
      const bytes = await loadDocumentBytes(deps.pool, job.document_id);
      // Reserve the estimated cost before the paid call; without room, wait (no attempt used).
      const prices = await llamaparsePrices(deps.pool, deps.config.LLAMAPARSE_TIER);
      const pages = await estimatePages(bytes);
      const estimate = llamaparseCostMicroUsd(
        llamaparseCredits(pages, prices.creditsPerPage),
        prices.microUsdPerCredit,
      );
      const spend = await guardSpend(deps, {
        jobId,
        stage: 'parse',
        service: 'llamaparse',
        amountMicroUsd: estimate,
        task: 'job__parse',
        payload: p,
        log,
      });
      if (!spend.ok) return;
      const webhook =
        parser.webhook && job.webhook_token
          ? {
              url: `${parser.webhook.baseUrl}/webhooks/llamaparse/${job.webhook_token}`,
              signingSecret: parser.webhook.signingSecret,
            }
          : undefined;
      // Crash window: LlamaParse accepted the upload but we die before the UPDATE below. The re-run
      // uploads again; LlamaParse serves identical bytes from its 48 h cache (no second charge).
      const { id } = await guardedCall(
        deps,
        'llamaparse',
        'upload',
        () => parser.client.upload({ bytes, fileName: job.file_name, jobId, correlationId, webhook }),
        [['llamaparse:uploads', 1]],
      );
      const firstCheck = new Date(Date.now() + (webhook ? deps.config.LLAMAPARSE_RECONCILE_AFTER_S * 1000 : 1000));
      await deps.pool.transaction(async (tx) => {
        const stored = await tx.query(sql.unsafe`
          update jobs set llamaparse_job_id = ${id}, parse_submitted_at = now()
          where id = ${jobId}::uuid and llamaparse_job_id is null`);
        if (stored.rowCount === 0) return; // a concurrent run stored its own id first
        await addJobNote(tx, jobId, {
          event: 'submitted_to_llamaparse',
          llamaparse_job_id: id,
          mode: webhook ? 'webhook' : 'polling',
          estimated_pages: pages,
          estimate_micro_usd: estimate,
        });
        await enqueue(
          tx,
          'job__parse_collect',
          { jobId, correlationId, polls: 0 },
          { runAt: firstCheck, maxAttempts: deps.attempts('job__parse_collect') },
        );
      });
      log.info({ llamaparse_job_id: id, mode: webhook ? 'webhook' : 'polling' }, 'parse: submitted to LlamaParse');
    });
}
