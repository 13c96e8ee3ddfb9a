// Faults the emulators inject: a counted fault applies to the next N matching calls.
/** Consume one use of a counted fault ({count: N}); true when it applies to this call. */
export function takeFault<K extends string>(
  faults: Partial<Record<K, { count: number } | undefined>>,
  name: K,
): boolean {
  const fault = faults[name];
  if (!fault || fault.count <= 0) return false;
  fault.count -= 1;
  return true;
}
