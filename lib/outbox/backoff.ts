// Pure: when to try a failed delivery again. Exponential from the base (5 s by default: 5, 10, 20,
// 40 s ... capped at an hour), with +-20% jitter so a receiver coming back is not hit by every line
// at once; a Retry-After the receiver sent (seconds or an HTTP date) wins. Never past the retry
// window's end: the last attempt is at the deadline.
export const MAX_DELAY_MS = 60 * 60 * 1000;

export function backoffDelayMs(attempt: number, baseMs: number, random = Math.random): number {
  const exponential = Math.min(baseMs * 2 ** Math.max(0, attempt - 1), MAX_DELAY_MS);
  return Math.round(exponential * (0.8 + 0.4 * random()));
}

/** Retry-After as milliseconds from now: delta-seconds or an HTTP date; undefined if absent or unreadable. */
export function retryAfterMs(header: string | undefined | null, nowMs: number): number | undefined {
  if (!header) return undefined;
  const text = header.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  const date = Date.parse(text);
  return Number.isNaN(date) ? undefined : Math.max(0, date - nowMs);
}

export type RetryDecision = { giveUp: true } | { giveUp: false; at: number };

/** After a failed attempt number `attempt` at `nowMs`: retry at, or give up (the window ended). */
export function nextAttempt(input: {
  attempt: number;
  nowMs: number;
  deadlineMs: number;
  baseMs: number;
  retryAfterMs?: number | undefined;
  random?: () => number;
}): RetryDecision {
  if (input.nowMs >= input.deadlineMs) return { giveUp: true };
  const delay = input.retryAfterMs ?? backoffDelayMs(input.attempt, input.baseMs, input.random);
  return { giveUp: false, at: Math.min(input.nowMs + delay, input.deadlineMs) };
}
