// HMAC-SHA256 signatures over raw bytes (LlamaParse's LC-Signature: sha256=<hex>), verified in
// constant time against any of several secrets (rotation).
import { createHmac, timingSafeEqual } from 'node:crypto';

export function signBody(body: Uint8Array | string, secret: string): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

export function verifySignature(
  body: Uint8Array,
  header: string | undefined | null,
  secrets: readonly string[],
): boolean {
  if (!header) return false;
  const match = /^sha256=([0-9a-f]{64})$/i.exec(header.trim());
  if (!match) return false;
  const given = Buffer.from(match[1]!.toLowerCase(), 'hex');
  let ok = false;
  for (const secret of secrets) {
    const expected = createHmac('sha256', secret).update(body).digest();
    // Compare against every secret (no early exit), so timing does not reveal which one matched.
    if (timingSafeEqual(expected, given)) ok = true;
  }
  return ok;
}
