// A new subscription or callback: the URL checked where it points now (a refused URL is refused
// at once, with the reason, rather than failing at every delivery), the events checked, a secret
// generated unless the caller brings one (callbacks may), the row written.
import type { CommonQueryMethods } from 'slonik';
import { resolveDestination, type Resolver } from './destination.ts';
import { generateWebhookSecret, isWebhookSecret } from './secret.ts';
import { insertSubscription } from './subscriptions.ts';

export class SubscriptionInputError extends Error {
  override name = 'SubscriptionInputError';
}

export type NewSubscription = {
  url: string;
  events: readonly string[];
  description?: string | undefined;
  callback?: boolean;
  secret?: string | undefined;
};

export async function addSubscription(
  db: CommonQueryMethods,
  input: NewSubscription,
  options: { allowPrivate: boolean; resolve?: Resolver },
): Promise<{ id: number; secret: string }> {
  try {
    await resolveDestination(input.url, options);
  } catch (error) {
    throw new SubscriptionInputError(`${input.callback ? 'callback_url' : 'url'}: ${(error as Error).message}`);
  }
  if (input.secret !== undefined && !isWebhookSecret(input.secret))
    throw new SubscriptionInputError('the secret must be "whsec_" followed by the base64 of 16 to 64 bytes');
  const secret = input.secret ?? generateWebhookSecret();
  const id = await insertSubscription(db, { ...input, secret });
  return { id, secret };
}
