// Intake: check a document (checkDocument), store its bytes once (keyed by SHA-256), create its job
// in `uploaded`, move it to the parse stage's start and enqueue the parse task, all in one
// transaction. Refusals store nothing and say why. The bytes are read from their source in parts.
import { randomUUID } from 'node:crypto';
import type { DatabasePool } from 'slonik';
import type { DocumentKind } from '../documents/detectType.ts';
import { bytesSource, sha256Of, type DocumentSource } from '../documents/documentSource.ts';
import { advanceJob } from '../jobs/advanceJob.ts';
import { enqueue } from '../jobs/enqueue.ts';
import { stageDef } from '../jobs/stages.ts';
import { checkDocument, nameRefusal } from './checkDocument.ts';
import type { IntakePolicy } from './intakePolicy.ts';
import { ChangedWhileReading, createJob, storeDocument } from './storeDocument.ts';
import { linkJobToCallback } from '../outbox/callbacks.ts';

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

export type IntakeInput = ({ source: DocumentSource } | { bytes: Uint8Array }) & {
  fileName: string;
  correlationId?: string | undefined;
  /** A per-upload callback (POST /v1/documents callback_url): linked before the job's first move. */
  callbackSubscriptionId?: number | undefined;
};

export async function ingestDocument(
  pool: DatabasePool,
  input: IntakeInput,
  policy: IntakePolicy,
): Promise<IntakeResult> {
  const source = 'source' in input ? input.source : bytesSource(input.bytes);
  const refuse = (reason: string) => ({ ok: false as const, fileName: input.fileName, reason });
  const badName = nameRefusal(input.fileName);
  if (badName) return refuse(badName);
  const check = await checkDocument(source, policy);
  if (!check.ok) return refuse(check.reason);
  const { type } = check;
  const sha256 = await sha256Of(source);
  const correlationId = input.correlationId ?? randomUUID();
  const parse = stageDef('parse');
  try {
    return await pool.transaction(async (tx) => {
      const { documentId, newDocument } = await storeDocument(tx, { source, sha256, mediaType: type.mediaType });
      const jobId = await createJob(tx, { documentId, fileName: input.fileName, correlationId });
      if (input.callbackSubscriptionId !== undefined) await linkJobToCallback(tx, input.callbackSubscriptionId, jobId);
      await advanceJob(tx, jobId, parse.queuedFrom, parse.startsFrom, {
        who: 'intake',
        media_type: type.mediaType,
        bytes: source.size,
      });
      await enqueue(tx, parse.task, { jobId, correlationId }, { maxAttempts: policy.maxAttempts });
      return {
        ok: true as const,
        fileName: input.fileName,
        jobId,
        correlationId,
        documentId,
        newDocument,
        kind: type.kind,
      };
    });
  } catch (error) {
    if (error instanceof ChangedWhileReading) return refuse(`${error.message}; ingest it again once it is complete`);
    throw error;
  }
}
