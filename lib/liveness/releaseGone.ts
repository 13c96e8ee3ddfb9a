// Releasing what a process that is gone still holds (its stage leases, its worker pools' jobs),
// decided on this host: only a process of the same domain can be found gone (processIdentity.ts).
import type { CommonQueryMethods } from 'slonik';
import type { Logger } from '../log.ts';
import { processGone, thisProcess } from './processIdentity.ts';
import { processesToCheck, releaseDeadProcess } from './workerProcesses.ts';

type Holder = { domain: string; pid: number; pidStart: string };

/** A lease's holder, if it is a process of this domain that is gone: released; true then. */
export async function releaseHolderIfGone(db: CommonQueryMethods, holder: Holder, log: Logger): Promise<boolean> {
  const me = thisProcess();
  if (!me || holder.domain !== me.domain || !processGone(holder.pid, holder.pidStart)) return false;
  const { leases, pools } = await releaseDeadProcess(db, holder);
  // (Zero of each: another process of this host released them first.)
  if (leases || pools.length)
    log.warn({ pid: holder.pid, leases, pools }, 'released the stage leases and jobs of a process that is gone');
  return true;
}

/** Every process of this domain holding a lease or a pool that is gone: released. Returns how many. */
export async function releaseGoneProcesses(db: CommonQueryMethods, log: Logger): Promise<number> {
  const me = thisProcess();
  if (!me) return 0;
  let released = 0;
  for (const p of await processesToCheck(db, me.domain))
    if (await releaseHolderIfGone(db, { domain: me.domain, pid: p.pid, pidStart: p.pid_start }, log)) released += 1;
  return released;
}
