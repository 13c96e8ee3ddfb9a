// A document's bytes, stored once per distinct content (keyed by SHA-256), and a job for it.
import { randomBytes } from 'node:crypto';
import { sql, type CommonQueryMethods } from 'slonik';
import { z } from 'zod';

const Id = z.object({ id: z.number() });

/** The document row for these bytes: inserted, or the one already stored. */
export async function storeDocument(
  tx: CommonQueryMethods,
  input: { bytes: Uint8Array; sha256: Buffer; mediaType: string },
): Promise<{ documentId: number; newDocument: boolean }> {
  const inserted = await tx.maybeOneFirst(sql.type(Id)`
    insert into documents (sha256, byte_size, media_type, content)
    values (${sql.binary(input.sha256)}, ${input.bytes.length}, ${input.mediaType}, ${sql.binary(Buffer.from(input.bytes))})
    on conflict (sha256) do nothing
    returning id::int`);
  if (inserted !== null) return { documentId: inserted, newDocument: true };
  const existing = await tx.oneFirst(
    sql.type(Id)`select id::int from documents where sha256 = ${sql.binary(input.sha256)}`,
  );
  return { documentId: existing, newDocument: false };
}

/** A new job (state uploaded) for a stored document, with its unguessable webhook token. */
export async function createJob(
  tx: CommonQueryMethods,
  input: { documentId: number; fileName: string; correlationId: string },
): Promise<string> {
  return tx.oneFirst(sql.type(z.object({ id: z.string() }))`
    insert into jobs (document_id, file_name, correlation_id, webhook_token)
    values (${input.documentId}, ${input.fileName}, ${input.correlationId}, ${randomBytes(24).toString('base64url')})
    returning id::text`);
}
