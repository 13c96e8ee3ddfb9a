// Follows jobs until each reaches a terminal state: a live progress block on a terminal, one
// plain line per state change otherwise (logs, CI).
import { sql, type DatabasePool } from 'slonik';
import { z } from 'zod';
import { TERMINAL_STATES } from '../jobs/states.ts';

const Row = z.object({ id: z.string(), state: z.string(), file_name: z.string(), last_error: z.string().nullable() });
export type JobOutcome = z.infer<typeof Row>;
const Note = z.object({ id: z.number(), file_name: z.string(), detail: z.unknown() });

const STAGE_OF: Record<string, string> = {
  uploaded: 'parse',
  parse_queued: 'parse',
  parsed: 'chunk',
  chunking: 'chunk',
  chunks_stored: 'chunk',
  embedding_queued: 'embed',
  embedding_in_progress: 'embed',
  embeddings_stored: 'embed',
  complete: 'complete',
  failed_parse: 'failed',
  failed_chunking: 'failed',
  failed_embedding: 'failed',
};

export async function followJobs(
  pool: DatabasePool,
  jobIds: string[],
  options: { stopping: Promise<unknown>; out?: NodeJS.WriteStream; intervalMs?: number },
): Promise<{ jobs: JobOutcome[]; interrupted: boolean }> {
  const out = options.out ?? process.stdout;
  const live = Boolean(out.isTTY);
  const seen = new Map<string, string>();
  let interrupted = false;
  void options.stopping.then(() => (interrupted = true));
  let drawnLines = 0;
  let lastNote = 0;
  const started = Date.now();
  for (;;) {
    const jobs = [
      ...(await pool.any(sql.type(Row)`
      select id::text, state::text, file_name, last_error from jobs where id = any(${sql.array(jobIds, 'uuid')})`)),
    ];
    // Failed attempts that will be retried: say so, so a slow run is not a silent one.
    const notes = await pool.any(sql.type(Note)`
      select e.id::int, j.file_name, e.detail from job_events e join jobs j on j.id = e.job_id
      where e.job_id = any(${sql.array(jobIds, 'uuid')}) and e.kind = 'note' and e.id > ${lastNote}
        and e.detail ->> 'event' = 'attempt_failed'
      order by e.id`);
    lastNote = notes.at(-1)?.id ?? lastNote;
    const noteLines = notes.map((n) => {
      const d = n.detail as {
        stage?: string;
        attempt?: number;
        max_attempts?: number;
        error?: string;
        next_run_at?: string;
      };
      return `${n.file_name}: ${d.stage} attempt ${d.attempt}/${d.max_attempts} failed (${d.error}); next try ${d.next_run_at ? new Date(d.next_run_at).toLocaleTimeString() : 'soon'}`;
    });
    const done = jobs.filter((j) => TERMINAL_STATES.includes(j.state as never)).length;
    if (live) {
      const counts: Record<string, number> = { parse: 0, chunk: 0, embed: 0, complete: 0, failed: 0 };
      for (const j of jobs) counts[STAGE_OF[j.state]!]! += 1;
      const width = 30;
      const filled = Math.round((done / Math.max(1, jobs.length)) * width);
      const lines = [
        ...noteLines,
        `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${done}/${jobs.length} done  ${((Date.now() - started) / 1000).toFixed(0)}s`,
        `  parsing ${counts.parse}  chunking ${counts.chunk}  embedding ${counts.embed}  complete ${counts.complete}  failed ${counts.failed}`,
      ];
      out.write(`${drawnLines ? `\x1b[${drawnLines}A` : ''}${lines.map((l) => `\x1b[2K${l}`).join('\n')}\n`);
      drawnLines = 2; // the notes scroll away; only the progress block is redrawn
    } else {
      for (const line of noteLines) out.write(`${line}\n`);
      for (const j of jobs) {
        if (seen.get(j.id) === j.state) continue;
        seen.set(j.id, j.state);
        out.write(
          `${j.file_name}: ${j.state}${j.last_error && j.state.startsWith('failed') ? ` (${j.last_error})` : ''}\n`,
        );
      }
    }
    if (done === jobs.length || interrupted) return { jobs, interrupted: interrupted && done < jobs.length };
    await Promise.race([new Promise((r) => setTimeout(r, options.intervalMs ?? 300)), options.stopping]);
  }
}
