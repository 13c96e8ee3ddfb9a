// Pure parts of outbound webhooks, checked without a database: our signatures verify with the
// official standardwebhooks package (and any single-byte change fails), secrets have the standard
// form, backoff grows and honours Retry-After within the retry window.
import test from 'ava';
import fc from 'fast-check';
import { Webhook } from 'standardwebhooks';
import { standardWebhookHeaders } from '../lib/outbox/signature.ts';
import { generateWebhookSecret, isWebhookSecret, secretKey } from '../lib/outbox/secret.ts';
import { backoffDelayMs, nextAttempt, retryAfterMs, MAX_DELAY_MS } from '../lib/outbox/backoff.ts';

test('signatures verify with the official standardwebhooks package, and no altered byte does', (t) => {
  fc.assert(
    fc.property(fc.string({ maxLength: 300 }), fc.nat({ max: 1_000_000 }), fc.nat(), (text, n, pick) => {
      const secret = generateWebhookSecret();
      const body = JSON.stringify({ type: 'job.complete', data: { text, n } });
      const timestampS = Math.floor(Date.now() / 1000);
      const headers = standardWebhookHeaders({ id: `msg_${n}`, timestampS, body, secret });
      t.deepEqual(new Webhook(secret).verify(body, headers), JSON.parse(body));
      const bytes = Buffer.from(body);
      const i = pick % bytes.length;
      bytes[i] = bytes[i]! ^ 0x01;
      t.throws(() => new Webhook(secret).verify(bytes.toString('latin1'), headers));
      t.throws(() => new Webhook(generateWebhookSecret()).verify(body, headers), undefined, 'another secret fails');
    }),
    { numRuns: 100 },
  );
});

test('secrets are whsec_ + base64 of 24 random bytes; malformed ones are refused', (t) => {
  const secret = generateWebhookSecret();
  t.regex(secret, /^whsec_[A-Za-z0-9+/]{32}$/);
  t.is(secretKey(secret).length, 24);
  t.not(generateWebhookSecret(), secret);
  for (const bad of ['', 'whsec_', 'sk_abc', 'whsec_not base64!', `whsec_${Buffer.alloc(8).toString('base64')}`])
    t.false(isWebhookSecret(bad), bad);
});

test('backoff doubles from the base up to an hour, jittered by at most 20%', (t) => {
  const mid = () => 0.5;
  t.deepEqual(
    [1, 2, 3, 4].map((a) => backoffDelayMs(a, 5000, mid)),
    [5000, 10000, 20000, 40000],
  );
  t.is(backoffDelayMs(30, 5000, mid), MAX_DELAY_MS);
  t.is(
    backoffDelayMs(1, 5000, () => 0),
    4000,
  );
  t.is(
    backoffDelayMs(1, 5000, () => 1),
    6000,
  );
});

test('Retry-After (seconds or an HTTP date) wins; nothing is scheduled past the window, which ends in giving up', (t) => {
  const now = Date.parse('2026-01-01T00:00:00Z');
  t.is(retryAfterMs('120', now), 120_000);
  t.is(retryAfterMs('Thu, 01 Jan 2026 00:01:00 GMT', now), 60_000);
  t.is(retryAfterMs('soon', now), undefined);
  const base = { attempt: 1, nowMs: now, deadlineMs: now + 3_600_000, baseMs: 5000, random: () => 0.5 };
  t.deepEqual(nextAttempt(base), { giveUp: false, at: now + 5000 });
  t.deepEqual(nextAttempt({ ...base, retryAfterMs: 90_000 }), { giveUp: false, at: now + 90_000 });
  t.deepEqual(nextAttempt({ ...base, retryAfterMs: 86_400_000 }), { giveUp: false, at: now + 3_600_000 });
  t.deepEqual(nextAttempt({ ...base, nowMs: now + 3_600_000 }), { giveUp: true });
});
