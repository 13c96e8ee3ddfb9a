// A document's bytes, stored once per distinct content (keyed by SHA-256), and a job for it.
import { randomBytes, randomUUID, createHash } from 'node:crypto';
import { sql, type CommonQueryMethods } from 'slonik';
import { z } from 'zod';
import { partsOf, type DocumentSource } from '../documents/documentSource.ts';

const Id = z.object({ id: z.number() });

export class ChangedWhileReading extends Error {}

/**
 * The document row for these bytes: inserted, or the one already stored. New content goes to the
 * database in parts of 256 KB (document_upload_parts, in the caller's transaction) and is
 * assembled there, so no process holds a whole file; the parts are hashed again on the way and
 * must match `sha256` (a file changed while it was read is refused, not stored under a wrong key).
 */
export async function storeDocument(
  tx: CommonQueryMethods,
  input: { source: DocumentSource; sha256: Buffer; mediaType: string },
): Promise<{ documentId: number; newDocument: boolean }> {
  const existing = await findDocument(tx, input.sha256);
  if (existing !== null) return { documentId: existing, newDocument: false };
  const upload = randomUUID();
  const hash = createHash('sha256');
  let ordinal = 0;
  for await (const part of partsOf(input.source)) {
    hash.update(part);
    await storePart(tx, upload, ordinal++, part);
  }
  if (!hash.digest().equals(input.sha256)) throw new ChangedWhileReading('the file changed while it was read');
  const inserted = await assembleDocument(tx, upload, input);
  await dropParts(tx, upload);
  if (inserted !== null) return { documentId: inserted, newDocument: true };
  return { documentId: (await findDocument(tx, input.sha256))!, newDocument: false };
}

async function findDocument(tx: CommonQueryMethods, sha256: Buffer): Promise<number | null> {
  return tx.maybeOneFirst(sql.type(Id)`select id::int from documents where sha256 = ${sql.binary(sha256)}`);
}

async function storePart(tx: CommonQueryMethods, upload: string, ordinal: number, bytes: Buffer) {
  await tx.query(sql.unsafe`
    insert into document_upload_parts (upload_id, ordinal, bytes) values (${upload}, ${ordinal}, ${sql.binary(bytes)})`);
}

async function assembleDocument(
  tx: CommonQueryMethods,
  upload: string,
  input: { source: DocumentSource; sha256: Buffer; mediaType: string },
): Promise<number | null> {
  return tx.maybeOneFirst(sql.type(Id)`
    insert into documents (sha256, byte_size, media_type, content)
    select ${sql.binary(input.sha256)}, ${input.source.size}, ${input.mediaType}, string_agg(bytes, ''::bytea order by ordinal)
    from document_upload_parts where upload_id = ${upload}
    on conflict (sha256) do nothing
    returning id::int`);
}

async function dropParts(tx: CommonQueryMethods, upload: string) {
  await tx.query(sql.unsafe`delete from document_upload_parts where upload_id = ${upload}`);
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
