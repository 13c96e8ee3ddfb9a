// Moves a job through the state machine by compare-and-set (SQL function advance_job). Asking for
// a move that already happened is a no-op ('already_there', no second event), so stage handlers
// can be re-run after a crash. Illegal moves are refused by the database (TV001), moves from an
// unexpected state by advance_job (TV002).
import { sql, type CommonQueryMethods } from 'slonik';
import { z } from 'zod';
import type { JobState } from './stages.ts';

export type AdvanceOutcome = 'moved' | 'already_there';

export type EventDetail = Record<string, unknown> & { attempt?: number; error?: string; who?: string };

export async function advanceJob(
  db: CommonQueryMethods,
  jobId: string,
  from: JobState,
  to: JobState,
  detail: EventDetail = {},
): Promise<AdvanceOutcome> {
  return db.oneFirst(sql.type(z.object({ outcome: z.enum(['moved', 'already_there']) }))`
    select advance_job(${jobId}::uuid, ${from}::job_state, ${to}::job_state, ${sql.jsonb(detail as never)}) as outcome`);
}

/** SQLSTATEs our schema raises (class TV). */
export const SQLSTATE = {
  illegalTransition: 'TV001',
  unexpectedState: 'TV002',
  appendOnly: 'TV003',
  unknownJob: 'TV004',
  leaseLost: 'TV005',
} as const;

/** The SQLSTATE of an error from pg or slonik (slonik keeps pg's error as `cause`). */
export function sqlState(error: unknown): string | undefined {
  for (let e = error as { code?: unknown; cause?: unknown } | undefined; e; e = e.cause as typeof e) {
    if (typeof e.code === 'string' && /^[0-9A-Z]{5}$/.test(e.code)) return e.code;
  }
  return undefined;
}
