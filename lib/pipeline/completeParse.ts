// The end of a successful parse, in one transaction: store the result (or reuse one), point the
// job at it, move parse_queued -> parsed, enqueue chunking. Safe to call twice: the second call
// finds the job already parsed and changes nothing.
import type { DatabasePool } from 'slonik';
import { sql } from 'slonik';
import type { ParseOutput } from '../parse/types.ts';
import { advanceJob } from '../jobs/advanceJob.ts';
import { enqueue } from '../jobs/enqueue.ts';
import { lockJob } from './jobRecord.ts';
import { storeParseResult, type ParserIdentity } from './parseResults.ts';
import { recordCost, settleReservation, type LedgerEntry } from '../costs/budget.ts';

export type ParseOutcome =
  { reuse: number } | { output: ParseOutput; credits: number | null; llamaparseJobId: string | null };

export async function completeParse(
  pool: DatabasePool,
  jobId: string,
  who: ParserIdentity,
  outcome: ParseOutcome,
  maxAttempts: number,
  bill?: LedgerEntry,
): Promise<'moved' | 'already_there'> {
  return pool.transaction(async (tx) => {
    const job = await lockJob(tx, jobId);
    if (job.state !== 'parse_queued') return 'already_there';
    // The paid call's ledger row and the settlement of its reservation, with the result.
    if (bill) {
      await recordCost(tx, bill);
      if (bill.reservationId !== null) await settleReservation(tx, bill.reservationId);
    }
    const resultId =
      'reuse' in outcome ? outcome.reuse : await storeParseResult(tx, job.document_id, who, outcome.output, outcome);
    await tx.query(sql.unsafe`update jobs set parse_result_id = ${resultId} where id = ${jobId}::uuid`);
    const detail =
      'reuse' in outcome
        ? { who: 'worker', parser: who.parser, reused_parse_result: resultId }
        : {
            who: 'worker',
            parser: who.parser,
            pages: outcome.output.pages.length,
            page_count: outcome.output.pageCount,
            credits: outcome.credits,
            ...(outcome.output.failedPages.length ? { failed_pages: outcome.output.failedPages } : {}),
          };
    await advanceJob(tx, jobId, 'parse_queued', 'parsed', detail);
    await enqueue(tx, 'job__chunk', { jobId, correlationId: job.correlation_id }, { maxAttempts });
    return 'moved';
  });
}
