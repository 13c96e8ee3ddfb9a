// Intake: store a document's bytes once (keyed by SHA-256), create its job in `uploaded`, move it to
// `parse_queued` and enqueue the parse task, all in one transaction. Refusals (empty, too large,
// a type the configured parser cannot handle) store nothing and say why.
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { sql, type DatabasePool } from 'slonik';
import { z } from 'zod';
import { detectType, type DocumentKind } from '../documents/detectType.ts';
import { describe } from '../parse/local/parseLocally.ts';
import { advanceJob } from '../jobs/advanceJob.ts';
import { enqueue } from '../jobs/enqueue.ts';

export type IntakePolicy = {
  maxBytes: number;
  acceptedKinds: readonly DocumentKind[];
  parserName: string;
  maxAttempts: number;
};

export type IntakeResult =
  | {
      ok: true;
      fileName: string;
      jobId: string;
      correlationId: string;
      documentId: number;
      newDocument: boolean;
      kind: DocumentKind;
    }
  | { ok: false; fileName: string; reason: string };

/** Checks that need no database: size and type. Null when the document is acceptable. */
export function refusalReason(bytes: Uint8Array, policy: IntakePolicy): string | null {
  if (bytes.length === 0) return 'the file is empty';
  if (bytes.length > policy.maxBytes)
    return `the file is ${bytes.length} bytes, over the limit of ${policy.maxBytes} (TVDB_MAX_FILE_BYTES)`;
  const type = detectType(bytes);
  if (!policy.acceptedKinds.includes(type.kind))
    return `unsupported type: the ${policy.parserName} parser cannot read ${describe(type)}`;
  return null;
}

export async function ingestDocument(
  pool: DatabasePool,
  input: { bytes: Uint8Array; fileName: string; correlationId?: string | undefined },
  policy: IntakePolicy,
): Promise<IntakeResult> {
  const reason = refusalReason(input.bytes, policy);
  if (reason) return { ok: false, fileName: input.fileName, reason };
  const type = detectType(input.bytes);
  const sha256 = createHash('sha256').update(input.bytes).digest();
  const correlationId = input.correlationId ?? randomUUID();
  return pool.transaction(async (tx) => {
    const inserted = await tx.maybeOneFirst(sql.type(z.object({ id: z.number() }))`
      insert into documents (sha256, byte_size, media_type, content)
      values (${sql.binary(sha256)}, ${input.bytes.length}, ${type.mediaType}, ${sql.binary(Buffer.from(input.bytes))})
      on conflict (sha256) do nothing
      returning id::int`);
    const documentId =
      inserted ??
      (await tx.oneFirst(
        sql.type(z.object({ id: z.number() }))`select id::int from documents where sha256 = ${sql.binary(sha256)}`,
      ));
    const jobId = await tx.oneFirst(sql.type(z.object({ id: z.string() }))`
      insert into jobs (document_id, file_name, correlation_id, webhook_token)
      values (${documentId}, ${input.fileName}, ${correlationId}, ${randomBytes(24).toString('base64url')})
      returning id::text`);
    await advanceJob(tx, jobId, 'uploaded', 'parse_queued', {
      who: 'intake',
      media_type: type.mediaType,
      bytes: input.bytes.length,
    });
    await enqueue(tx, 'job__parse', { jobId, correlationId }, { maxAttempts: policy.maxAttempts });
    return {
      ok: true as const,
      fileName: input.fileName,
      jobId,
      correlationId,
      documentId,
      newDocument: inserted !== null,
      kind: type.kind,
    };
  });
}
