// What a benchmark run cost the machine: CPU seconds of this Node process (all its threads), the
// main thread's event-loop utilisation, and CPU seconds of PostgreSQL (the postmaster, its live
// backends, and what exited backends left in the postmaster's children's counters), read from
// /proc. PostgreSQL's share is known only for the embedded server the harness starts (its
// postmaster pid); for BENCH_DATABASE_URL it is null.
import { readFileSync, readdirSync } from 'node:fs';
import { performance } from 'node:perf_hooks';

const TICKS = 100; // USER_HZ on Linux

function stat(pid: number): { ppid: number; own: number; children: number } | null {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = text.slice(text.lastIndexOf(')') + 2).split(' ');
    // After "(comm) ": state ppid ... utime(14) stime(15) cutime(16) cstime(17) in 1-based stat fields.
    return { ppid: Number(f[1]), own: Number(f[11]) + Number(f[12]), children: Number(f[13]) + Number(f[14]) };
  } catch {
    return null;
  }
}

/** CPU seconds of a process tree rooted at `pid` (one level: PostgreSQL's backends are its children). */
export function treeCpuSeconds(pid: number): number {
  const root = stat(pid);
  if (!root) return NaN;
  let ticks = root.own + root.children;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const s = stat(Number(entry));
    if (s?.ppid === pid) ticks += s.own;
  }
  return ticks / TICKS;
}

export function startCpuMeter(postgresPid: number | undefined) {
  const cpu0 = process.cpuUsage();
  const elu0 = performance.eventLoopUtilization();
  const pg0 = postgresPid ? treeCpuSeconds(postgresPid) : NaN;
  const t0 = performance.now();
  return () => {
    const seconds = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(cpu0);
    const node = (cpu.user + cpu.system) / 1e6;
    const postgres = postgresPid ? treeCpuSeconds(postgresPid) - pg0 : NaN;
    return {
      seconds,
      nodeCpuS: node,
      postgresCpuS: postgres,
      eventLoop: performance.eventLoopUtilization(elu0).utilization,
    };
  };
}

export type CpuReport = ReturnType<ReturnType<typeof startCpuMeter>>;

/** "3.2 s (1.45 cores)" */
export const cores = (cpuS: number, seconds: number) =>
  Number.isNaN(cpuS) ? 'n/a' : `${cpuS.toFixed(1)} s (${(cpuS / seconds).toFixed(2)} cores)`;
