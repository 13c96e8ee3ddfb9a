// The seed's job states. The database is the authority (enum job_state and the
// job_state_transitions table); this list exists for types and display order.
export const JOB_STATES = [
  'uploaded',
  'parse_queued',
  'parsed',
  'chunking',
  'chunks_stored',
  'embedding_queued',
  'embedding_in_progress',
  'embeddings_stored',
  'complete',
  'failed_parse',
  'failed_chunking',
  'failed_embedding',
] as const;
export type JobState = (typeof JOB_STATES)[number];

export const HAPPY_PATH: readonly JobState[] = JOB_STATES.slice(0, 9);

export const TERMINAL_STATES: readonly JobState[] = ['complete', 'failed_parse', 'failed_chunking', 'failed_embedding'];

export type Stage = 'parse' | 'chunk' | 'embed';
