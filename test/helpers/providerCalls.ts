// What the emulators' call logs say about stage runs: each paid call names its run
// (X-TVDB-Run "<job>:<stage>:<token>").

type Call = { run: string | null; startedAt: number; endedAt: number };

/** Pairs of calls by different runs of the same job and stage that overlapped in time at the
 * provider: what fenced stage runs must never allow. */
export function overlappingRuns(calls: readonly Call[]): string[] {
  const found: string[] = [];
  for (const a of calls)
    for (const b of calls) {
      if (!a.run || !b.run || a.run >= b.run) continue;
      const [jobA, stageA] = a.run.split(':');
      const [jobB, stageB] = b.run.split(':');
      if (jobA === jobB && stageA === stageB && a.startedAt < b.endedAt && b.startedAt < a.endedAt)
        found.push(`${a.run} / ${b.run}`);
    }
  return found;
}
