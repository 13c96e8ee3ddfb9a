// Intake: check a document (checkDocument), store its bytes once (keyed by SHA-256), create its job
// in `uploaded`, move it to the parse stage's start and enqueue the parse task, all in one
// transaction. Refusals store nothing and say why.
import { createHash, randomUUID } from 'node:crypto';
import type { DatabasePool } from 'slonik';
import type { DocumentKind } from '../documents/detectType.ts';
import { advanceJob } from '../jobs/advanceJob.ts';
import { enqueue } from '../jobs/enqueue.ts';
import { stageDef } from '../jobs/stages.ts';
import { checkDocument } from './checkDocument.ts';
import type { IntakePolicy } from './intakePolicy.ts';
import { createJob, storeDocument } from './storeDocument.ts';
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

export async function ingestDocument(
  pool: DatabasePool,
  input: {
    bytes: Uint8Array;
    fileName: string;
    correlationId?: string | undefined;
    /** A per-upload callback (POST /v1/documents callback_url): linked before the job's first move. */
    callbackSubscriptionId?: number | undefined;
  },
  policy: IntakePolicy,
): Promise<IntakeResult> {
  const check = checkDocument(input.bytes, policy);
  if (!check.ok) return { ok: false, fileName: input.fileName, reason: check.reason };
  const { type } = check;
  const sha256 = createHash('sha256').update(input.bytes).digest();
  const correlationId = input.correlationId ?? randomUUID();
  const parse = stageDef('parse');
  return pool.transaction(async (tx) => {
    const { documentId, newDocument } = await storeDocument(tx, {
      bytes: input.bytes,
      sha256,
      mediaType: type.mediaType,
    });
    const jobId = await createJob(tx, { documentId, fileName: input.fileName, correlationId });
    if (input.callbackSubscriptionId !== undefined) await linkJobToCallback(tx, input.callbackSubscriptionId, jobId);
    await advanceJob(tx, jobId, parse.queuedFrom, parse.startsFrom, {
      who: 'intake',
      media_type: type.mediaType,
      bytes: input.bytes.length,
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
}
