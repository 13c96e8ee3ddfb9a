// Test setup for jobs: a document row and a job in `uploaded`, and a way to walk a job into any
// state through legal moves only (the trigger stays on).
import { createHash, randomUUID } from 'node:crypto';
import { sql, type CommonQueryMethods } from 'slonik';
import { z } from 'zod';
import { advanceJob } from '../../lib/jobs/advanceJob.ts';
import type { JobState } from '../../lib/jobs/stages.ts';

export async function insertJob(db: CommonQueryMethods, opts: { correlationId?: string; text?: string } = {}) {
  const content = Buffer.from(opts.text ?? `test document ${randomUUID()}`);
  const sha = createHash('sha256').update(content).digest();
  const documentId = await db.oneFirst(sql.type(z.object({ id: z.number() }))`
    insert into documents (sha256, byte_size, media_type, content)
    values (${sql.binary(sha)}, ${content.length}, 'text/plain', ${sql.binary(content)})
    on conflict (sha256) do update set sha256 = excluded.sha256
    returning id::int`);
  const correlationId = opts.correlationId ?? randomUUID();
  const id = await db.oneFirst(sql.type(z.object({ id: z.string() }))`
    insert into jobs (document_id, file_name, correlation_id)
    values (${documentId}, 'test.txt', ${correlationId}) returning id::text`);
  return { id, correlationId };
}

export type Transition = { from_state: JobState; to_state: JobState };

export async function legalTransitions(db: CommonQueryMethods): Promise<Transition[]> {
  const rows = await db.any(sql.type(z.object({ from_state: z.string(), to_state: z.string() }))`
    select from_state::text, to_state::text from job_state_transitions`);
  return rows as Transition[];
}

/** Shortest sequence of legal moves from `uploaded` to `target` (breadth-first). */
export function pathTo(transitions: Transition[], target: JobState): Transition[] {
  const previous = new Map<JobState, Transition>();
  const queue: JobState[] = ['uploaded'];
  const seen = new Set<JobState>(queue);
  while (queue.length) {
    const state = queue.shift()!;
    for (const t of transitions.filter((t) => t.from_state === state)) {
      if (seen.has(t.to_state)) continue;
      seen.add(t.to_state);
      previous.set(t.to_state, t);
      queue.push(t.to_state);
    }
  }
  const path: Transition[] = [];
  for (let s = target; s !== 'uploaded';) {
    const t = previous.get(s);
    if (!t) throw new Error(`${target} is unreachable from uploaded`);
    path.unshift(t);
    s = t.from_state;
  }
  return path;
}

export async function walkTo(db: CommonQueryMethods, transitions: Transition[], jobId: string, target: JobState) {
  for (const t of pathTo(transitions, target)) await advanceJob(db, jobId, t.from_state, t.to_state);
}

export async function eventCount(db: CommonQueryMethods, jobId: string): Promise<number> {
  return db.oneFirst(
    sql.type(z.object({ n: z.number() }))`select count(*)::int as n from job_events where job_id = ${jobId}::uuid`,
  );
}

export async function jobState(db: CommonQueryMethods, jobId: string): Promise<JobState> {
  return (await db.oneFirst(
    sql.type(z.object({ state: z.string() }))`select state::text from jobs where id = ${jobId}::uuid`,
  )) as JobState;
}
