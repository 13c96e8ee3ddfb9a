// Follows jobs until each reaches a terminal state, or until what is left only waits for budget:
// a live progress block on a terminal, one plain line per change otherwise (logs, CI).
import { printable } from '../lib/format.ts';
import type { DatabasePool } from 'slonik';
import { followedJobs, followedNotes, type FollowedJob } from '../lib/status/followedJobs.ts';
import { COMPLETE_STATE, STAGES, isTerminal, stageOwning, type JobState } from '../lib/jobs/stages.ts';

export type JobOutcome = FollowedJob;
type NoteDetail = {
  event?: string;
  stage?: string;
  attempt?: number;
  max_attempts?: number;
  error?: string;
  next_run_at?: string;
  reason?: string;
};

// Where a job is, for the progress line: the stage that acts on it next, complete or failed.
const stageOf = (state: string) =>
  stageOwning(state as JobState)?.stage ?? (state === COMPLETE_STATE ? 'complete' : 'failed');

export async function followJobs(
  pool: DatabasePool,
  jobIds: string[],
  options: { stopping: Promise<unknown>; out?: NodeJS.WriteStream; intervalMs?: number; settleMs?: number },
): Promise<{ jobs: JobOutcome[]; interrupted: boolean }> {
  const out = options.out ?? process.stdout;
  const live = Boolean(out.isTTY);
  const seen = new Map<string, string>();
  let interrupted = false;
  void options.stopping.then(() => (interrupted = true));
  let drawnLines = 0;
  let lastNote = 0;
  let stalledSince: number | undefined;
  const started = Date.now();
  for (;;) {
    // `waiting`: the reason of the job's latest event when that event is a wait for budget/credits.
    const rows = await followedJobs(pool, jobIds);
    const jobs = rows.map((j) => ({ ...j, waiting: j.waiting && !isTerminal(j.state) ? j.waiting : null }));
    // Failed attempts and waits: say so, so that a slow run is not a silent one.
    const notes = await followedNotes(pool, jobIds, lastNote);
    lastNote = notes.at(-1)?.id ?? lastNote;
    const noteLines = notes.map((n) => {
      const d = n.detail as NoteDetail;
      if (d.event !== 'attempt_failed')
        return `${printable(n.file_name)}: ${d.event?.replace(/_/g, ' ')}: ${d.reason ?? d.error ?? ''}`;
      const next = d.next_run_at ? new Date(d.next_run_at).toLocaleTimeString() : 'soon';
      return `${printable(n.file_name)}: ${d.stage} attempt ${d.attempt}/${d.max_attempts} failed (${d.error}); next try ${next}`;
    });
    const done = jobs.filter((j) => isTerminal(j.state)).length;
    const waiting = jobs.filter((j) => j.waiting).length;
    if (live) {
      const counts: Record<string, number> = { complete: 0, failed: 0 };
      for (const j of jobs) counts[stageOf(j.state)] = (counts[stageOf(j.state)] ?? 0) + 1;
      const active = STAGES.map((s) => `${s.activity} ${counts[s.stage] ?? 0}`).join('  ');
      const width = 30;
      const filled = Math.round((done / Math.max(1, jobs.length)) * width);
      const lines = [
        ...noteLines,
        `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${done}/${jobs.length} done  ${((Date.now() - started) / 1000).toFixed(0)}s`,
        `  ${active}  complete ${counts.complete}  failed ${counts.failed}` +
          (waiting ? `  waiting for budget ${waiting}` : ''),
      ];
      out.write(`${drawnLines ? `\x1b[${drawnLines}A` : ''}${lines.map((l) => `\x1b[2K${l}`).join('\n')}\n`);
      drawnLines = 2; // the notes scroll away; only the progress block is redrawn
    } else {
      for (const line of noteLines) out.write(`${line}\n`);
      for (const j of jobs) {
        if (seen.get(j.id) === j.state) continue;
        seen.set(j.id, j.state);
        out.write(
          `${printable(j.file_name)}: ${j.state}${j.last_error && j.state.startsWith('failed') ? ` (${j.last_error})` : ''}\n`,
        );
      }
    }
    if (done === jobs.length || interrupted) return { jobs, interrupted: interrupted && done < jobs.length };
    if (waiting > 0 && done + waiting === jobs.length) {
      // Give budget a moment to free (a reservation settling) before calling it a standstill.
      stalledSince ??= Date.now();
      if (Date.now() - stalledSince > (options.settleMs ?? 5000)) return { jobs, interrupted: false };
    } else stalledSince = undefined;
    await Promise.race([new Promise((r) => setTimeout(r, options.intervalMs ?? 300)), options.stopping]);
  }
}
