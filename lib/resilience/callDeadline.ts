// A paid call's own deadline (issue 22): sized from the call (its units: tokens, pages) and the
// provider's latency as this process observed it, never above the configured timeout. The call is
// aborted at that deadline, so the stage lease that covers it (StageRun.confirm) need only cover it
// too: a frozen run's lease no longer lasts 60 s for a call that takes one. Pure logic with an
// in-process memory of recent calls; until it has seen a few, the configured timeout decides.

/** Recent calls remembered per service. */
const WINDOW = 50;
/** Calls seen before the observed latency decides (until then: the configured timeout). */
const MIN_SAMPLES = 5;
/** Headroom over the slowest recent call scaled to this one's size, plus a fixed margin. */
const FACTOR = 4;
const MARGIN_MS = 2000;
/** Never shorter than this (connection set-up, a GC pause, a busy provider moment): a call aborted
 * too early may still be billed, and its retry billed again. */
const FLOOR_MS = 10_000;

export type LatencyMemory = {
  /** The deadline for a call of `units`, at most `ceilingMs` (the configured timeout). */
  deadlineMs(units: number, ceilingMs: number): number;
  /** A call of `units` answered after `ms`. */
  observe(ms: number, units: number): void;
  /** A call of `units` reached its deadline: the provider is slower than remembered. */
  timedOut(deadlineMs: number, units: number): void;
};

export function latencyMemory(): LatencyMemory {
  const samples: Array<{ ms: number; units: number }> = [];
  const add = (ms: number, units: number) => {
    samples.push({ ms, units: Math.max(1, units) });
    if (samples.length > WINDOW) samples.shift();
  };
  return {
    deadlineMs(units, ceilingMs) {
      if (samples.length < MIN_SAMPLES) return ceilingMs;
      // As long as the slowest recent call, or, for a call larger than any seen, that scaled by size.
      const slowest = Math.max(...samples.map((s) => s.ms));
      const largest = Math.max(...samples.map((s) => s.units));
      const predicted = slowest * Math.max(1, units / largest);
      return Math.min(ceilingMs, Math.max(FLOOR_MS, Math.ceil(FACTOR * predicted + MARGIN_MS)));
    },
    observe: add,
    // Remembered as twice the deadline: the next calls get more room, up to the configured timeout.
    timedOut: (deadlineMs, units) => add(2 * deadlineMs, units),
  };
}
