// The stage table is written once in TypeScript (lib/jobs/stages.ts) and seeded once in SQL
// (pipeline_stages): they must agree, and the legal moves must be exactly the ones the stages make.
import test from 'ava';
import { readdirSync } from 'node:fs';
import { sql } from 'slonik';
import { z } from 'zod';
import { createTestDatabase, type TestDatabase } from './helpers/database.ts';
import { randomUUID } from 'node:crypto';
import { JOB_STATES, STAGES, stageMoves, type StageTask } from '../lib/jobs/stages.ts';
import { jobKeyFor } from '../lib/jobs/enqueue.ts';
import { StagePayload } from '../lib/pipeline/runStage.ts';

let db: TestDatabase;
test.before(async () => {
  db = await createTestDatabase();
});
test.after.always(() => db?.drop());

const moveKey = (m: { from: string; to: string }) => `${m.from}->${m.to}`;

test('pipeline_stages holds the same rows as STAGES', async (t) => {
  const rows = await db.pool.any(sql.type(z.record(z.string(), z.unknown()))`
    select stage, task, job_key_prefix, queued_from::text, starts_from::text, in_progress::text, done::text,
           handoff_to::text, failed::text, retry_to::text, attempts_setting, paid_service, budget_stage
    from pipeline_stages order by position`);
  t.deepEqual(
    rows,
    STAGES.map((s) => ({
      stage: s.stage,
      task: s.task,
      job_key_prefix: s.jobKeyPrefix,
      queued_from: s.queuedFrom,
      starts_from: s.startsFrom,
      in_progress: s.inProgress,
      done: s.done,
      handoff_to: s.handoffTo,
      failed: s.failed,
      retry_to: s.retryTo,
      attempts_setting: s.attemptsSetting,
      paid_service: s.paid?.service ?? null,
      budget_stage: s.paid?.budgetStage ?? null,
    })),
  );
  const helpers = await db.pool.any(sql.type(
    z.object({ stage: z.string(), task: z.string(), job_key_prefix: z.string() }),
  )`
    select stage, task, job_key_prefix from pipeline_stage_tasks order by task`);
  t.deepEqual(
    helpers,
    STAGES.flatMap((s) => s.helperTasks.map((h) => ({ stage: s.stage, task: h.task, job_key_prefix: h.jobKeyPrefix }))),
  );
});

test('the job_state enum lists the states of the stage table, in its order', async (t) => {
  const states = await db.pool.anyFirst(
    sql.type(z.object({ s: z.string() }))`select unnest(enum_range(null::job_state))::text as s`,
  );
  t.deepEqual([...states], [...JOB_STATES]);
});

test('every legal move is one a stage makes, and every move a stage makes is legal', async (t) => {
  const legal = await db.pool.any(sql.type(z.object({ from: z.string(), to: z.string() }))`
    select from_state::text as from, to_state::text as to from job_state_transitions`);
  const explainedInSql = await db.pool.any(sql.type(z.object({ from: z.string(), to: z.string() }))`
    select from_state::text as from, to_state::text as to from pipeline_stage_moves`);
  const explainedInTs = STAGES.flatMap(stageMoves);
  const sorted = (moves: Array<{ from: string; to: string }>) => moves.map(moveKey).sort();
  t.deepEqual(sorted([...legal]), sorted(explainedInTs), 'job_state_transitions = the moves of STAGES');
  t.deepEqual(sorted([...explainedInSql]), sorted(explainedInTs), 'pipeline_stage_moves = the moves of STAGES');
  t.is(new Set(explainedInTs.map(moveKey)).size, explainedInTs.length, 'no move is made by two stages');
});

test('every task a stage names has its task file', (t) => {
  const files = new Set(readdirSync(new URL('../tasks', import.meta.url)).map((f) => f.replace(/\.ts$/, '')));
  for (const s of STAGES)
    for (const task of [s.task, ...s.helperTasks.map((h) => h.task)]) t.true(files.has(task), task);
});

test('TypeScript and SQL give every stage task the same job key and an accepted payload for a job', async (t) => {
  const jobId = randomUUID();
  const tasks = STAGES.flatMap((s) => [s.task, ...s.helperTasks.map((h) => h.task)]) as StageTask[];
  for (const task of tasks) {
    const key = await db.pool.oneFirst(
      sql.type(z.object({ k: z.string().nullable() }))`select stage_task_job_key(${task}, ${jobId}::uuid) as k`,
    );
    t.is(key, jobKeyFor(task, jobId), task);
  }
  t.is(
    await db.pool.oneFirst(
      sql.type(z.object({ k: z.string().nullable() }))`select stage_task_job_key('no_such_task', ${jobId}::uuid) as k`,
    ),
    null,
  );
  const payload = await db.pool.oneFirst(
    sql.type(z.object({ p: z.unknown() }))`select stage_task_payload(${jobId}::uuid, 'corr-1', '{"polls": 0}') as p`,
  );
  t.deepEqual(StagePayload.parse(payload), { jobId, correlationId: 'corr-1', polls: 0 });
});
