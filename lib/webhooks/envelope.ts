// Pure: LlamaParse's webhook envelope, in either output format ("json": the object; "string": a
// JSON string literal whose content is the object).
import { z } from 'zod';

// Strings that reach PostgreSQL text: a NUL would make it refuse the statement (a 500), so it is
// refused here as malformed, like any other envelope that is not LlamaParse's.
const storable = (max: number) =>
  z
    .string()
    .min(1)
    .max(max)
    .refine((s) => !s.includes('\u0000'), 'contains a NUL character');

export const Envelope = z.object({
  event_id: storable(200),
  event_type: storable(100),
  timestamp: z.number().finite(),
  data: z.object({ id: storable(200).optional(), job_id: storable(200).optional() }).passthrough(),
});
export type Envelope = z.infer<typeof Envelope>;

/** Events after which the job may be finished: worth reading its status now (older names included). */
export const FINAL_EVENTS = new Set([
  'parse.success',
  'parse.error',
  'parse.partial_success',
  'parse.cancelled',
  'parse.failure',
  'parse.partial',
  'parse.done',
]);

/** Events LlamaParse documents. Others are recorded and otherwise ignored. */
export const KNOWN_EVENTS = new Set(['parse.pending', 'parse.running', ...FINAL_EVENTS]);

export type EnvelopeResult = { ok: true; envelope: Envelope; llamaparseJobId: string } | { ok: false; reason: string };

export function parseEnvelope(body: Buffer): EnvelopeResult {
  let value: unknown;
  try {
    value = JSON.parse(body.toString('utf8'));
    if (typeof value === 'string') value = JSON.parse(value);
  } catch {
    return { ok: false, reason: 'the body is not JSON' };
  }
  const parsed = Envelope.safeParse(value);
  if (!parsed.success)
    return {
      ok: false,
      reason: `not a LlamaParse webhook envelope: ${parsed.error.issues.map((i) => `${i.path.join('.')} ${i.message}`).join('; ')}`,
    };
  const llamaparseJobId = parsed.data.data.job_id ?? parsed.data.data.id;
  if (!llamaparseJobId) return { ok: false, reason: 'the envelope names no job (data.job_id)' };
  return { ok: true, envelope: parsed.data, llamaparseJobId };
}

/** Seconds between the envelope's timestamp and now, if beyond the tolerance (either way). */
export function timestampSkew(timestampS: number, nowMs: number, toleranceS: number): number | null {
  const skew = nowMs / 1000 - timestampS;
  return Math.abs(skew) > toleranceS ? skew : null;
}
