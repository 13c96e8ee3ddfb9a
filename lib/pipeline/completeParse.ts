// The end of a successful parse, in one transaction: the paid call's ledger row and the settlement
// of its reservation, the result stored (or reused), the job pointed at it, the stage finished
// (which queues chunking). Safe to call twice: the second call finds the job parsed and changes nothing.
import type { CommonQueryMethods } from 'slonik';
import { sql } from 'slonik';
import type { ParseOutput } from '../parse/types.ts';
import type { AttemptsFor } from '../jobs/attempts.ts';
import { stageDef } from '../jobs/stages.ts';
import { lockJob } from './jobRecord.ts';
import { storeParseResult, type ParserIdentity } from './parseResults.ts';
import { finishStage } from './stageSteps.ts';
import type { StageRun } from './stageRun.ts';
import { recordCost, settleReservation, type LedgerEntry } from '../costs/budget.ts';

export type ParseOutcome =
  { reuse: number } | { output: ParseOutput; credits: number | null; llamaparseJobId: string | null };

export async function completeParse(
  run: StageRun,
  job: { jobId: string; correlationId: string },
  who: ParserIdentity,
  outcome: ParseOutcome,
  attempts: AttemptsFor,
  bill?: LedgerEntry,
): Promise<'moved' | 'already_there'> {
  return run.write(async (tx) => {
    const locked = await lockJob(tx, job.jobId);
    if (locked.state !== stageDef('parse').startsFrom) return 'already_there';
    if (bill) {
      await recordCost(tx, { ...bill, leaseToken: run.token });
      if (bill.reservationId !== null) await settleReservation(tx, bill.reservationId);
    }
    const resultId =
      'reuse' in outcome ? outcome.reuse : await storeParseResult(tx, locked.document_id, who, outcome.output, outcome);
    await pointJobAtParseResult(tx, job.jobId, resultId);
    const detail =
      'reuse' in outcome
        ? { parser: who.parser, reused_parse_result: resultId }
        : {
            parser: who.parser,
            pages: outcome.output.pages.length,
            page_count: outcome.output.pageCount,
            credits: outcome.credits,
            ...(outcome.output.failedPages.length ? { failed_pages: outcome.output.failedPages } : {}),
          };
    return finishStage(tx, 'parse', job, detail, attempts);
  });
}

async function pointJobAtParseResult(tx: CommonQueryMethods, jobId: string, resultId: number) {
  await tx.query(sql.unsafe`update jobs set parse_result_id = ${resultId} where id = ${jobId}::uuid`);
}
