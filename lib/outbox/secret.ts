// Pure: Standard Webhooks signing secrets, "whsec_" + base64 of random bytes (24 here, as the
// standard's own libraries generate). The part after the prefix, base64-decoded, is the HMAC key.
import { randomBytes } from 'node:crypto';

export const SECRET_PREFIX = 'whsec_';

export function generateWebhookSecret(): string {
  return SECRET_PREFIX + randomBytes(24).toString('base64');
}

/** The HMAC key of a whsec_ secret; throws on anything else. */
export function secretKey(secret: string): Buffer {
  if (!/^whsec_[A-Za-z0-9+/]+=*$/.test(secret)) throw new Error('a webhook secret is "whsec_" followed by base64');
  const key = Buffer.from(secret.slice(SECRET_PREFIX.length), 'base64');
  if (key.length < 16 || key.length > 64) throw new Error('a webhook secret holds 16 to 64 bytes');
  return key;
}

export const isWebhookSecret = (secret: string) => {
  try {
    secretKey(secret);
    return true;
  } catch {
    return false;
  }
};
