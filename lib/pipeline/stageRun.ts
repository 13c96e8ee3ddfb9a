// A stage run's lease, held for as long as the run works: claimed before the work, kept alive by a
// timer on this process's event loop (CPU-heavy work runs in worker threads, so the timer keeps
// time), extended over the timeout of each paid call, checked at the start of every write
// transaction, released at the end. A run that finds its token gone stops: LeaseLostError.
import type { CommonQueryMethods, DatabasePool } from 'slonik';
import type { Logger } from '../log.ts';
import { sqlState, SQLSTATE } from '../jobs/advanceJob.ts';
import { extendStageLease, fenceStageRun, releaseStageLease, type Observation } from '../jobs/stageLeases.ts';
import { beginStageRun } from '../jobs/stageMoves.ts';
import type { JobState, Stage } from '../jobs/stages.ts';
import type { AdvanceOutcome, EventDetail } from '../jobs/advanceJob.ts';

export class LeaseLostError extends Error {
  override name = 'LeaseLostError';
}

/** True for a lost lease, whether found before a call or refused by SQL (TV005) in a write. */
export const isLeaseLost = (error: unknown) =>
  error instanceof LeaseLostError || sqlState(error) === SQLSTATE.leaseLost;

export type StageRun = {
  readonly stage: Stage;
  readonly token: string;
  /** "<job>:<stage>:<token>": names the run to providers (X-TVDB-Run) and in logs. */
  readonly id: string;
  /** The job's move into the stage, fenced by the lease, in one statement. */
  begin(move: { from: JobState; to: JobState; detail: EventDetail }): Promise<AdvanceOutcome>;
  /** A write transaction of the run: fenced first, so a stale run commits nothing. */
  write<T>(work: (tx: CommonQueryMethods) => Promise<T>): Promise<T>;
  /** Before a paid call: keep the stage for the call's timeout plus a margin, or throw LeaseLostError. */
  confirm(callTimeoutMs: number): Promise<void>;
  /** Gives the stage up; `observe`: a metric recorded in the same statement. */
  release(observe?: Observation): Promise<void>;
};

export function holdStageRun(
  pool: DatabasePool,
  lease: { jobId: string; stage: Stage; token: string },
  timing: { leaseS: number; renewMs: number },
  log: Logger,
): StageRun {
  let lost = false;
  let renewing = Promise.resolve();
  const timer = setInterval(() => {
    renewing = extendStageLease(pool, lease, timing.leaseS, true).then(
      (kept) => {
        if (!kept && !lost) log.warn({ token: lease.token }, `${lease.stage}: the stage lease was taken over`);
        lost ||= !kept;
      },
      (error) => log.warn({ err: error }, 'could not renew the stage lease (will retry)'),
    );
  }, timing.renewMs);
  timer.unref();
  return {
    stage: lease.stage,
    token: lease.token,
    id: `${lease.jobId}:${lease.stage}:${lease.token}`,
    begin: (move) => beginStageRun(pool, lease, move),
    write: (work) =>
      pool.transaction(async (tx) => {
        await fenceStageRun(tx, lease);
        return work(tx);
      }),
    async confirm(callTimeoutMs) {
      if (lost || !(await extendStageLease(pool, lease, callTimeoutMs / 1000 + timing.leaseS, true))) {
        lost = true;
        throw new LeaseLostError(
          `${lease.stage}: this run's lease on the stage was taken over by another run; stopping before the call`,
        );
      }
    },
    async release(observe) {
      clearInterval(timer);
      await renewing;
      await releaseStageLease(pool, lease, observe).catch((error) => {
        // Unreleased, it expires by itself; the next run of the stage waits for that.
        if (!isLeaseLost(error)) log.warn({ err: error }, 'could not release the stage lease');
      });
    },
  };
}
