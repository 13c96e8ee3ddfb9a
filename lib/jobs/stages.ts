// The pipeline's stages, defined once. Everything that needs a stage's states, its task, its job
// key or its attempts setting reads them here (TypeScript) or from `pipeline_stages` (SQL: the same
// rows, seeded by a migration). test/stages.test.ts checks that the two agree and that every legal
// move in job_state_transitions is one a stage explains (see `stageMoves`).
//
// A stage's states, in order: `queuedFrom` (the state the previous step leaves the job in before
// queueing this stage, if that is not the previous stage's done state) -> `startsFrom` (its task
// picks the job up here) -> `inProgress` (while it works, when the stage has such a state) ->
// `done` -> `handoffTo` (the same transaction moves on to the next stage's start, or to complete).
// The stage fails from `startsFrom` or `inProgress` into `failed`; a retry moves `failed` back to
// `retryTo` and queues `task` again. `paid`: the service a paid stage calls and the budget stage
// its reservations and ledger rows name (null for a free stage): the stage wrapper releases a
// paid stage's hold when it gives up, and the budget modules take any paid stage's name.
export const STAGES = [
  {
    stage: 'parse',
    /** What a person calls the stage's work (progress lines). */
    activity: 'parsing',
    task: 'job__parse',
    jobKeyPrefix: 'parse',
    /** Further tasks of the stage: each with its own job key (one pending task of each per job). */
    helperTasks: [{ task: 'job__parse_collect', jobKeyPrefix: 'collect' }],
    queuedFrom: 'uploaded',
    startsFrom: 'parse_queued',
    inProgress: null,
    done: 'parsed',
    handoffTo: null,
    failed: 'failed_parse',
    retryTo: 'parse_queued',
    attemptsSetting: 'TVDB_MAX_ATTEMPTS_PARSE',
    paid: { service: 'llamaparse', budgetStage: 'parse' },
  },
  {
    stage: 'chunk',
    activity: 'chunking',
    task: 'job__chunk',
    jobKeyPrefix: 'chunk',
    helperTasks: [],
    queuedFrom: null,
    startsFrom: 'parsed',
    inProgress: 'chunking',
    done: 'chunks_stored',
    handoffTo: 'embedding_queued',
    failed: 'failed_chunking',
    retryTo: 'parsed',
    attemptsSetting: 'TVDB_MAX_ATTEMPTS_CHUNK',
    paid: null,
  },
  {
    stage: 'embed',
    activity: 'embedding',
    task: 'job__embed',
    jobKeyPrefix: 'embed',
    helperTasks: [],
    queuedFrom: null,
    startsFrom: 'embedding_queued',
    inProgress: 'embedding_in_progress',
    done: 'embeddings_stored',
    handoffTo: 'complete',
    failed: 'failed_embedding',
    retryTo: 'embedding_queued',
    attemptsSetting: 'TVDB_MAX_ATTEMPTS_EMBED',
    paid: { service: 'embeddings', budgetStage: 'embed' },
  },
] as const;

export type StageDef = (typeof STAGES)[number];
export type Stage = StageDef['stage'];
export type StageTask = StageDef['task'] | StageDef['helperTasks'][number]['task'];
type PaidStageDef = Extract<StageDef, { paid: object }>;
export type PaidStage = PaidStageDef['stage'];
/** The stage names of budget reservations and holds that stages take (a request's is 'search'). */
export type BudgetStage = PaidStageDef['paid']['budgetStage'];
/** The paid part of a stage (service, budget stage), or null for a free one. */
export const paidPart = (stage: Stage): PaidStageDef['paid'] | null => STAGES.find((s) => s.stage === stage)!.paid;
type PathState = NonNullable<StageDef['queuedFrom' | 'startsFrom' | 'inProgress' | 'done' | 'handoffTo']>;
export type JobState = PathState | StageDef['failed'];

/** The state a job ends in when every stage succeeded. */
export const COMPLETE_STATE = 'complete' satisfies JobState;

const path = (s: StageDef): PathState[] =>
  [s.queuedFrom, s.startsFrom, s.inProgress, s.done, s.handoffTo].filter((x): x is PathState => x !== null);

/** Every state, in display order: the happy path, then the failed states (as enum job_state). */
export const JOB_STATES: readonly JobState[] = [
  ...new Set<JobState>([...STAGES.flatMap(path), ...STAGES.map((s) => s.failed)]),
];
/** The path of a job that every stage moved on: uploaded ... complete. */
export const HAPPY_PATH: readonly JobState[] = [...new Set<JobState>(STAGES.flatMap(path))];
export const FAILED_STATES: readonly JobState[] = STAGES.map((s) => s.failed);
export const TERMINAL_STATES: readonly JobState[] = [COMPLETE_STATE, ...FAILED_STATES];
export const isTerminal = (state: string) => TERMINAL_STATES.includes(state as JobState);

export function stageDef<S extends Stage>(stage: S): Extract<StageDef, { stage: S }> {
  return STAGES.find((s) => s.stage === stage) as Extract<StageDef, { stage: S }>;
}

/** The stage a task belongs to (its own task or a helper task), if any. */
export function stageOfTask(task: string): StageDef | undefined {
  return STAGES.find((s) => s.task === task || s.helperTasks.some((h) => h.task === task));
}

/** The stage whose task must act next for a job in this state (undefined when terminal). */
export function stageOwning(state: JobState): StageDef | undefined {
  return (
    STAGES.find((s) => s.queuedFrom === state || s.startsFrom === state || s.inProgress === state) ??
    STAGES.find((s) => s.done === state)
  );
}

/** The stage that fails into this state. */
export function stageFailingInto(state: string): StageDef | undefined {
  return STAGES.find((s) => s.failed === state);
}

/** Job keys: one pending task per (task, job). */
export function jobKeyPrefix(task: string): string | undefined {
  const s = stageOfTask(task);
  if (!s) return undefined;
  return s.task === task ? s.jobKeyPrefix : s.helperTasks.find((h) => h.task === task)!.jobKeyPrefix;
}

export type Move = { stage: Stage; from: JobState; to: JobState; kind: 'forward' | 'fail' | 'retry' };

/** The moves a stage makes: along its path, into its failed state, and back by retry. */
export function stageMoves(s: StageDef): Move[] {
  const p = path(s);
  return [
    ...p.slice(1).map((to, i) => ({ stage: s.stage, from: p[i]!, to, kind: 'forward' as const })),
    ...[s.startsFrom, s.inProgress]
      .filter((x): x is NonNullable<typeof x> => x !== null)
      .map((from) => ({ stage: s.stage, from, to: s.failed, kind: 'fail' as const })),
    { stage: s.stage, from: s.failed, to: s.retryTo, kind: 'retry' as const },
  ];
}
