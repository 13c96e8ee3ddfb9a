// Which process holds a stage lease, named so that another process can tell, on its own host, that
// it is gone: the domain where its pid means something (the kernel's boot id and the pid
// namespace: two containers sharing a host name, or a host rebooted, never judge each other's
// pids), the pid, and the process's start time (field 22 of /proc/<pid>/stat) against pid reuse.
// Where /proc is not there (not Linux) there is no identity and no one releases early.
import { readFileSync, readlinkSync } from 'node:fs';

export type ProcessIdentity = { domain: string; pid: number; pidStart: string };

/** Fields of /proc/<pid>/stat after the command name: [state, ppid, ..., starttime at index 19]. */
function statFields(pid: number | 'self'): string[] | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) is in parentheses and may hold spaces and parentheses itself.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return null;
  }
}

let self: ProcessIdentity | null | undefined;

/** This process's identity, or null where it cannot be checked by others. */
export function thisProcess(): ProcessIdentity | null {
  if (self !== undefined) return self;
  try {
    const boot = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
    const pidNamespace = readlinkSync('/proc/self/ns/pid'); // "pid:[4026531836]"
    const start = statFields('self')?.[19];
    self = boot && start ? { domain: `${boot}/${pidNamespace}`, pid: process.pid, pidStart: start } : null;
  } catch {
    self = null;
  }
  return self;
}

/**
 * True only when the process is certainly gone: no such pid (ESRCH), a zombie (dead, not yet reaped
 * by its parent), or a pid now used by a process started at another time. A process that exists
 * (running, or frozen by SIGSTOP), or one this process may not inspect, is not gone.
 */
export function processGone(pid: number, pidStart: string): boolean {
  if (pid === process.pid) return false;
  try {
    process.kill(pid, 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ESRCH') return true;
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  const fields = statFields(pid);
  if (!fields) return false; // hidden from us (hidepid) or just exited: the next look decides
  if (fields[0] === 'Z' || fields[0] === 'X') return true;
  return fields[19] !== pidStart;
}
