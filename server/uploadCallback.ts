// The per-upload callback of POST /v1/documents: form fields callback_url, optional
// callback_events (comma-separated; default job.complete,job.failed) and optional callback_secret
// (whsec_..., so one system can verify all its uploads with one secret; else one is generated and
// returned once). The callback is a subscription that hears only about this request's jobs.
import { z } from 'zod';
import { addSubscription, SubscriptionInputError } from '../lib/outbox/addSubscription.ts';
import { removeCallbackWithoutJobs } from '../lib/outbox/callbacks.ts';
import { CALLBACK_DEFAULT_EVENTS, CallbackEventList, splitList } from '../lib/outbox/eventTypes.ts';
import type { ServerContext } from './context.ts';

export const CallbackFields = z.object({
  callback_url: z
    .string()
    .max(2048, 'longer than 2048 characters')
    .optional()
    .meta({ description: 'called back for the jobs of this request' }),
  callback_events: z
    .string()
    .max(1000, 'longer than 1000 characters')
    .optional()
    .meta({ description: 'comma-separated job events (default job.complete,job.failed)' }),
  callback_secret: z
    .string()
    .max(200, 'longer than 200 characters')
    .optional()
    .meta({ description: 'whsec_<base64> to sign with (default: generated)' }),
});

export const CallbackAnswer = z
  .object({
    subscription_id: z.number().int(),
    events: z.array(z.string()),
    secret: z.string().optional().meta({ description: 'the generated secret (absent when you gave one)' }),
  })
  .meta({ id: 'UploadCallback' });

export type UploadCallback = z.infer<typeof CallbackAnswer>;

/** The callback the fields ask for (created), none, or the reason it is refused. */
export async function uploadCallback(
  ctx: ServerContext,
  fields: Record<string, string>,
): Promise<{ ok: true; callback?: UploadCallback } | { ok: false; message: string }> {
  const parsed = CallbackFields.safeParse({
    callback_url: fields.callback_url,
    callback_events: fields.callback_events,
    callback_secret: fields.callback_secret,
  });
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    return { ok: false, message: `${issue.path.join('.')}: ${issue.message}` };
  }
  const f = parsed.data;
  if (!f.callback_url) {
    if (f.callback_events || f.callback_secret)
      return { ok: false, message: 'callback_events and callback_secret need callback_url' };
    return { ok: true };
  }
  const events = CallbackEventList.safeParse(
    f.callback_events ? splitList(f.callback_events) : CALLBACK_DEFAULT_EVENTS,
  );
  if (!events.success) return { ok: false, message: `callback_events: ${events.error.issues[0]!.message}` };
  try {
    const { id, secret } = await addSubscription(
      ctx.pool,
      {
        url: f.callback_url,
        events: events.data,
        callback: true,
        secret: f.callback_secret,
        description: 'upload callback',
      },
      { allowPrivate: ctx.outbound?.allowPrivate ?? false },
    );
    return {
      ok: true,
      callback: { subscription_id: id, events: events.data, ...(f.callback_secret ? {} : { secret }) },
    };
  } catch (error) {
    if (error instanceof SubscriptionInputError) return { ok: false, message: error.message };
    throw error;
  }
}

/** A request whose files were all refused keeps no callback. */
export const dropUnusedCallback = (ctx: ServerContext, callback: UploadCallback | undefined) =>
  callback ? removeCallbackWithoutJobs(ctx.pool, callback.subscription_id) : Promise.resolve();
