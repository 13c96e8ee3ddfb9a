// A known job history for the monitoring tests: written with triggers off, every expected number
// computed from it (not copied from an output). Times are seconds before the seeding transaction's now().
import { randomUUID } from 'node:crypto';
import { sql } from 'slonik';
import { z } from 'zod';
import { createTestDatabase, written, type TestDatabase } from './database.ts';
import { HAPPY_PATH, type JobState } from '../../lib/jobs/stages.ts';

export type Step = [state: JobState, enteredAgo: number];
export type SeedJob = {
  steps: Step[];
  error?: string;
  notes?: Array<{ ago: number; detail: Record<string, unknown> }>;
};

/** A job along the happy path that starts `startAgo` s ago and spends durations[i] s in state i. */
export function happyJob(startAgo: number, durations: number[], until = HAPPY_PATH.length): SeedJob {
  const steps: Step[] = [];
  let ago = startAgo;
  for (let i = 0; i < until; i++) {
    steps.push([HAPPY_PATH[i]!, ago]);
    ago -= durations[i] ?? 1;
  }
  return { steps };
}

export const PARSE_ERROR = 'corrupt PDF: no xref table';
export const RETRY_ERROR = 'HTTP 503 from LlamaParse';
export const retryNote = (ago: number) => ({
  ago,
  detail: { event: 'attempt_failed', stage: 'parse', error_class: 'transient', error: RETRY_ERROR },
});

export const SEED: SeedJob[] = [
  // Ten jobs completed 40-50 minutes ago, with distinct times in parse_queued and chunking.
  ...Array.from({ length: 10 }, (_, k) => happyJob(3000 - 60 * k, [1, 10 * (k + 1), 2, k + 1, 1, 1, 3, 1])),
  // One completed within the last 5 minutes.
  happyJob(200, [1, 20, 2, 5, 1, 1, 3, 1]),
  // One completed two days ago with a huge parse time: outside every window.
  happyJob(2 * 86400, [1, 5000, 2, 1, 1, 1, 3, 1]),
  // Two failed parses 10 minutes ago, after three retried attempts between them.
  {
    steps: [
      ['uploaded', 701],
      ['parse_queued', 700],
      ['failed_parse', 601],
    ],
    error: PARSE_ERROR,
    notes: [retryNote(660), retryNote(640)],
  },
  {
    steps: [
      ['uploaded', 702],
      ['parse_queued', 700],
      ['failed_parse', 602],
    ],
    error: PARSE_ERROR,
    notes: [retryNote(650)],
  },
  // Three jobs stranded in parse_queued for 34-36 minutes with no task queued.
  ...[1, 2, 3].map((s) => happyJob(2000 + 60 * s, [20], 2)),
];

export async function seedHistory(db: TestDatabase, jobs: SeedJob[]) {
  await db.ownerPool.transaction(async (tx) => {
    // History is written as it was, not re-enacted: triggers (and their clocks) stay out of it.
    await tx.query(sql.unsafe`set local session_replication_role = replica`);
    const content = Buffer.from(`seed ${randomUUID()}`);
    const documentId = await tx.oneFirst(sql.type(z.object({ id: z.number() }))`
      insert into documents (sha256, byte_size, media_type, content)
      values (sha256(${sql.binary(content)}), ${content.length}, 'application/pdf', ${sql.binary(content)})
      returning id::int`);
    for (const job of jobs) {
      const [lastState, lastAgo] = job.steps.at(-1)!;
      const correlationId = randomUUID();
      const jobId = await tx.oneFirst(sql.type(z.object({ id: z.string() }))`
        insert into jobs (document_id, file_name, correlation_id, state, state_changed_at, last_error, created_at)
        values (${documentId}, 'seed.pdf', ${correlationId}, ${lastState}::job_state, now() - make_interval(secs => ${lastAgo}),
                ${job.error ?? null}, now() - make_interval(secs => ${job.steps[0]![1]}))
        returning id::text`);
      for (const [i, [state, ago]] of job.steps.entries()) {
        const previous = job.steps[i - 1];
        const detail = state.startsWith('failed_') ? { error: job.error, error_class: 'permanent' } : {};
        await tx.query(sql.unsafe`
          insert into job_events (job_id, kind, from_state, to_state, correlation_id, detail, at, seconds_in_from_state)
          values (${jobId}::uuid, ${previous ? 'transition' : 'created'}, ${previous?.[0] ?? null}::job_state, ${state}::job_state,
                  ${correlationId}, ${sql.jsonb(detail as never)}, now() - make_interval(secs => ${ago}),
                  ${previous ? previous[1] - ago : null})`);
      }
      for (const note of job.notes ?? [])
        await tx.query(sql.unsafe`
          insert into job_events (job_id, kind, from_state, to_state, correlation_id, detail, at)
          values (${jobId}::uuid, 'note', null, ${lastState}::job_state, ${correlationId}, ${sql.jsonb(note.detail as never)},
                  now() - make_interval(secs => ${note.ago}))`);
    }
  });
}

/** A database of its own with the SEED history, for a test file's before hook (the file drops it after). */
export async function seededDatabase(): Promise<TestDatabase> {
  const db = await createTestDatabase();
  await seedHistory(db, SEED);
  return db;
}

/** Moves in the seed (ago = when the job left from_state). */
export const moves = SEED.flatMap((job) =>
  job.steps.slice(1).map(([to, ago], i) => ({ from: job.steps[i]![0], to, ago, seconds: job.steps[i]![1] - ago })),
);

/** percentile_cont: linear interpolation between the closest ranks. */
export function percentileCont(values: number[], p: number) {
  const v = [...values].sort((a, b) => a - b);
  const pos = p * (v.length - 1);
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return v[lo]! + (v[hi]! - v[lo]!) * (pos - lo);
}
export const round3 = (x: number) => Math.round(x * 1000) / 1000;

/** A query written out in full, its rows checked by `type`. */
export async function rows<T extends z.ZodTypeAny>(
  on: TestDatabase,
  type: T,
  query: string,
): Promise<Array<z.infer<T>>> {
  return [...(await on.pool.any(sql.type(type)(written(query))))] as Array<z.infer<T>>;
}
