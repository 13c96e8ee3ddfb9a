// The intake check, once per file and without a database: empty, too large, or a type the
// configured parser cannot read is refused with a reason a person can act on.
import { describe, detectType, type DocumentType } from '../documents/detectType.ts';
import type { IntakePolicy } from './intakePolicy.ts';

export type DocumentCheck = { ok: true; type: DocumentType } | { ok: false; reason: string };

/** The size rule alone, for callers that know a size before they have the bytes. */
export function sizeRefusal(size: number, policy: IntakePolicy): string | null {
  if (size === 0) return 'the file is empty';
  if (size > policy.maxBytes)
    return `the file is ${size} bytes, over the limit of ${policy.maxBytes} (TVDB_MAX_FILE_BYTES)`;
  return null;
}

export function checkDocument(bytes: Uint8Array, policy: IntakePolicy): DocumentCheck {
  const tooBig = sizeRefusal(bytes.length, policy);
  if (tooBig) return { ok: false, reason: tooBig };
  const type = detectType(bytes);
  if (!policy.acceptedKinds.includes(type.kind))
    return { ok: false, reason: `unsupported type: the ${policy.parserName} parser cannot read ${describe(type)}` };
  return { ok: true, type };
}
