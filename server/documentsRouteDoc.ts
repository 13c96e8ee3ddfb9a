// The declaration of POST /v1/documents (kept beside the handler file, which changes more often).
import { z } from 'zod';
import { declareRoute, errorResponses } from './routeRegistry.ts';
import { CallbackAnswer, CallbackFields } from './uploadCallback.ts';

const Accepted = z.object({ file: z.string(), job_id: z.uuid(), correlation_id: z.string() });
const Refused = z.object({ file: z.string(), reason: z.string() });

export function declareDocumentsRoute(correlationId: z.ZodString) {
  declareRoute({
    method: 'post',
    path: '/v1/documents',
    summary: 'ingest documents: one or more "file" fields; optionally a callback for their jobs',
    description:
      'Each file is checked, stored once (by SHA-256) and queued for parsing. Form fields (before the files): ' +
      'callback_url, callback_events, callback_secret: signed Standard Webhooks deliveries for the jobs of this request.',
    tags: ['documents'],
    security: 'bearer',
    request: {
      headers: z.object({ 'x-correlation-id': correlationId.optional() }),
      body: {
        contentType: 'multipart/form-data',
        schema: CallbackFields.extend({ file: z.array(z.string().meta({ format: 'binary' })).min(1) }),
      },
    },
    responses: {
      202: {
        description: 'accepted (some files may be refused, with reasons)',
        schema: z.object({
          jobs: z.array(Accepted).min(1),
          refused: z.array(Refused),
          callback: CallbackAnswer.optional(),
        }),
      },
      422: {
        description: 'no file was accepted',
        schema: z.object({ error: z.literal('refused'), message: z.string(), refused: z.array(Refused) }),
      },
      ...errorResponses(400, 401, 415, 503),
    },
  });
}
