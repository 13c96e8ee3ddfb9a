// The ceiling for bench:webhook: the same Polka server, body reading, signature check and envelope
// parsing as the webhook route, answering 200 with no database work.
import polka from 'polka';
import { verifySignature } from '../lib/webhooks/signature.ts';
import { parseEnvelope } from '../lib/webhooks/envelope.ts';
import { readLimitedBody, json, fail } from '../server/http.ts';

const secret = process.env.LLAMAPARSE_WEBHOOK_SECRET!;
const app = polka();
app.post('/webhooks/llamaparse/:token', async (req, res) => {
  const body = await readLimitedBody(req, 65536);
  if (!verifySignature(body, String(req.headers['lc-signature']), [secret]))
    return fail(res, 401, 'bad_signature', 'no');
  const parsed = parseEnvelope(body);
  if (!parsed.ok) return fail(res, 400, 'malformed', parsed.reason);
  json(res, 200, { ok: true, duplicate: false });
});
app.listen({ host: '127.0.0.1', port: Number(process.env.PORT) }, () => {
  process.stdout.write('listening\n');
});
