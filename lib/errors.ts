// Errors carry a class that decides what happens next. Permanent: the stage fails now, with a
// reason a person can act on. Transient: retried with backoff (optionally not before retryAfterMs).
// OutOfCredits (LlamaParse 402): its own kind, so cost controls can pause instead of failing.
export type ErrorClass = 'permanent' | 'transient' | 'out_of_credits';

export class StageError extends Error {
  readonly errorClass: ErrorClass;
  readonly retryAfterMs: number | undefined;
  readonly status: number | undefined;
  constructor(
    errorClass: ErrorClass,
    message: string,
    options: { cause?: unknown; retryAfterMs?: number; status?: number } = {},
  ) {
    super(message, { cause: options.cause });
    this.name = `${errorClass[0]!.toUpperCase()}${errorClass.slice(1).replace(/_(\w)/g, (_, c: string) => c.toUpperCase())}Error`;
    this.errorClass = errorClass;
    this.retryAfterMs = options.retryAfterMs;
    this.status = options.status;
  }
}

export const permanent = (message: string, options?: { cause?: unknown; status?: number }) =>
  new StageError('permanent', message, options);
export const transient = (message: string, options?: { cause?: unknown; retryAfterMs?: number; status?: number }) =>
  new StageError('transient', message, options);

/** Anything that is not explicitly permanent is retried: an unknown failure is assumed passing. */
export function classify(error: unknown): ErrorClass {
  return error instanceof StageError ? error.errorClass : 'transient';
}

/** Not a failure: the work must wait (an open circuit breaker, a rate limit, a budget) and is
 * re-scheduled without using an attempt. This is the one way to defer: throw it, and the stage
 * wrapper re-queues the task. `note` becomes a job event (not repeated while the wait lasts);
 * `payload` is merged into the re-queued task's payload (undefined removes a key). */
export class DeferError extends Error {
  override name = 'DeferError';
  readonly delayS: number;
  readonly note: Record<string, unknown>;
  readonly payload: Record<string, unknown>;
  constructor(delayS: number, note: Record<string, unknown>, options: { payload?: Record<string, unknown> } = {}) {
    super(`deferred for ${delayS} s: ${String(note.event)}`);
    this.delayS = delayS;
    this.note = note;
    this.payload = options.payload ?? {};
  }
}
