// The intake check, once per file and without a database: a name that cannot be stored, empty, too
// large, a type the configured parser cannot read, or a ZIP container over the inflation limits is
// refused with a reason a person can act on. Reads the first bytes (and a ZIP's central directory),
// never the whole file into memory.
import { describe, detectType, isZip, SNIFF_BYTES, zipKind, type DocumentType } from '../documents/detectType.ts';
import type { DocumentSource } from '../documents/documentSource.ts';
import { inspectZip } from '../documents/inspectZip.ts';
import type { IntakePolicy } from './intakePolicy.ts';

export type DocumentCheck = { ok: true; type: DocumentType } | { ok: false; reason: string };

/** The size rule alone, for callers that know a size before they have the bytes. */
export function sizeRefusal(size: number, policy: IntakePolicy): string | null {
  if (size === 0) return 'the file is empty';
  if (size > policy.maxBytes)
    return `the file is ${size} bytes, over the limit of ${policy.maxBytes} (TVDB_MAX_FILE_BYTES)`;
  return null;
}

/** File names are stored as given, except what PostgreSQL text cannot hold. */
export function nameRefusal(fileName: string): string | null {
  if (fileName.includes('\u0000')) return 'the file name contains a NUL byte, which cannot be stored';
  return null;
}

export async function checkDocument(source: DocumentSource, policy: IntakePolicy): Promise<DocumentCheck> {
  const tooBig = sizeRefusal(source.size, policy);
  if (tooBig) return { ok: false, reason: tooBig };
  const head = await source.read(0, SNIFF_BYTES);
  const unsupported = (type: DocumentType) => ({
    ok: false as const,
    reason: `unsupported type: the ${policy.parserName} parser cannot read ${describe(type)}`,
  });
  if (!isZip(head)) {
    const type = detectType(head);
    return policy.acceptedKinds.includes(type.kind) ? { ok: true, type } : unsupported(type);
  }
  const zip = await inspectZip(source, policy.zip, (type) => policy.acceptedKinds.includes(type.kind));
  if (zip.ok) return zip;
  if (zip.type && !zip.reason) return unsupported(zip.type);
  // An unreadable archive whose first entries name a type the parser does not read: say that.
  const guess = zipKind((prefix) => head.includes(prefix));
  if (!zip.type && guess.kind !== 'unknown' && !policy.acceptedKinds.includes(guess.kind)) return unsupported(guess);
  return { ok: false, reason: zip.reason ?? 'unreadable ZIP container' };
}
