import test from 'ava';
import LlamaCloud, { toFile } from '@llamaindex/llama-cloud';
import { createServer, type IncomingMessage } from 'node:http';
import { LlamaParseEmulator } from '../emulators/llamaparse/index.ts';
import { createLlamaParseClient } from '../lib/parse/llamaparse/client.ts';
import { StageError } from '../lib/errors.ts';
import { verifySignature } from '../lib/webhooks/signature.ts';
import { HAS_CORPUS, CORPUS_MISSING, corpusFile, corpusTest } from './helpers/corpus.ts';
import { formFeedText, makePptx } from './helpers/officeFiles.ts';

async function emulator(options: ConstructorParameters<typeof LlamaParseEmulator>[0] = {}) {
  const e = new LlamaParseEmulator({ startDelayMs: 5, perPageDelayMs: 1, webhookRetryDelaysMs: [50, 100], ...options });
  await e.start();
  return e;
}

corpusTest(
  'the official SDK parses corpus PDFs end to end against the emulator, one markdown page per PDF page',
  async (t) => {
    const e = await emulator();
    t.teardown(() => e.stop());
    const client = new LlamaCloud({ apiKey: 'llx-emulator', baseURL: e.url, maxRetries: 0 });
    for (const [file, pages, phrase] of [
      ['pdf/fake-memo.pdf', 1, 'To Whom it May Concern'],
      ['pdf/layout-parser-paper-fast.pdf', 2, 'LayoutParser'],
      ['pdf/list-item-example.pdf', 2, 'Module One'],
    ] as const) {
      const result = await client.parsing.parse(
        {
          tier: 'fast',
          version: 'latest',
          upload_file: await toFile(corpusFile(file), file.split('/')[1]),
          expand: ['markdown', 'text'],
        },
        { pollingInterval: 0.02, maxInterval: 0.05 },
      );
      t.is(result.job.status, 'COMPLETED', file);
      t.is(result.markdown?.pages.length, pages, file);
      t.is(result.text?.pages.length, pages, file);
      const first = result.markdown!.pages[0]!;
      t.true(first.success && 'markdown' in first && first.markdown.includes(phrase), file);
    }
  },
);

test('auth: a missing or wrong key answers 401; an unknown job 404 with the documented shape', async (t) => {
  const e = await emulator();
  t.teardown(() => e.stop());
  const res = await fetch(`${e.url}/api/v2/parse/abc`, { headers: { authorization: 'Bearer wrong' } });
  t.is(res.status, 401);
  const unknown = await fetch(`${e.url}/api/v2/parse/abc`, { headers: { authorization: 'Bearer llx-emulator' } });
  t.is(unknown.status, 404);
  t.deepEqual(await unknown.json(), { detail: 'Job not found' });
});

test('validation errors answer 422 in FastAPI shape', async (t) => {
  const e = await emulator();
  t.teardown(() => e.stop());
  const form = new FormData();
  form.set('file', new Blob(['hello']), 'a.txt');
  form.set('configuration', JSON.stringify({ tier: 'turbo', version: 'latest' }));
  const res = await fetch(`${e.url}/api/v2/parse/upload`, {
    method: 'POST',
    body: form,
    headers: { authorization: 'Bearer llx-emulator' },
  });
  t.is(res.status, 422);
  const body = (await res.json()) as { detail: Array<{ loc: string[]; msg: string; type: string }> };
  t.deepEqual(body.detail[0]!.loc, ['body', 'configuration', 'tier']);
});

test('our client classifies faults: 429 with Retry-After, 402, 401, 5xx, timeouts', async (t) => {
  const e = await emulator();
  t.teardown(() => e.stop());
  const client = createLlamaParseClient({ apiKey: 'llx-emulator', baseURL: e.url, tier: 'fast', timeoutMs: 1500 });
  const upload = () =>
    client.upload({ bytes: Buffer.from('hello world'), fileName: 'a.txt', jobId: 'j', correlationId: 'c' });
  const expectError = async (cls: StageError['errorClass'], check?: (e: StageError) => void) => {
    const error = (await t.throwsAsync(upload())) as StageError;
    t.true(error instanceof StageError, String(error));
    t.is(error.errorClass, cls, error.message);
    check?.(error);
  };
  e.faults = { rateLimit: { count: 1, retryAfterS: 7 } };
  await expectError('transient', (err) => t.is(err.retryAfterMs, 7000));
  e.faults = { rateLimit: { count: 1, retryAfterMs: 1500 } };
  await expectError('transient', (err) => t.is(err.retryAfterMs, 1500));
  e.faults = { rateLimit: { count: 1 } };
  await expectError('transient', (err) => t.is(err.retryAfterMs, undefined));
  e.faults = { outOfCredits: true };
  await expectError('out_of_credits');
  e.faults = { unauthorized: true };
  await expectError('permanent', (err) => t.regex(err.message, /401/));
  e.faults = { serverErrors: { count: 1, status: 502 } };
  await expectError('transient', (err) => t.is(err.status, 502));
  e.faults = { slowResponses: { count: 1, delayMs: 3000 } };
  await expectError('transient', (err) => t.regex(err.message, /timed out/));
  e.faults = {};
  const ok = await upload();
  t.is(ok.status, 'PENDING');
  t.is(e.jobs.get(ok.id)!.user_metadata.tvdb_job_id, 'j');
  t.is(e.jobs.get(ok.id)!.user_metadata.correlation_id, 'c');
});

test('network failure is transient', async (t) => {
  const client = createLlamaParseClient({ apiKey: 'k', baseURL: 'http://127.0.0.1:9', tier: 'fast', timeoutMs: 1000 });
  const error = (await t.throwsAsync(client.get('x'))) as StageError;
  t.is(error.errorClass, 'transient');
});

function webhookReceiver() {
  const received: Array<{ headers: IncomingMessage['headers']; body: Buffer }> = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      received.push({ headers: req.headers, body: Buffer.concat(chunks) });
      res.writeHead(204).end();
    });
  });
  return new Promise<{ url: string; received: typeof received; close: () => Promise<void> }>((resolve) =>
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      resolve({
        url: `http://127.0.0.1:${port}/hook`,
        received,
        close: () => new Promise((r) => server.close(() => r())),
      });
    }),
  );
}

const until = async (predicate: () => boolean, ms = 5000) => {
  const end = Date.now() + ms;
  while (!predicate() && Date.now() < end) await new Promise((r) => setTimeout(r, 10));
};

test('webhooks: signed envelope in both output formats, documented headers, duplicates on demand', async (t) => {
  const e = await emulator({ faults: { webhooks: { duplicates: 1 } } });
  const hook = await webhookReceiver();
  t.teardown(async () => {
    await e.stop();
    await hook.close();
  });
  const client = new LlamaCloud({ apiKey: 'llx-emulator', baseURL: e.url, maxRetries: 0 });
  for (const format of ['string', 'json'] as const) {
    hook.received.length = 0;
    const job = await client.parsing.create({
      tier: 'fast',
      version: 'latest',
      upload_file: await toFile(Buffer.from('# Title\n\nhello'), 'a.md'),
      webhook_configurations: [
        {
          webhook_url: hook.url,
          webhook_events: ['parse.success'],
          webhook_output_format: format,
          webhook_signing_secret: 's3cret',
          webhook_headers: { 'x-extra': 'yes' },
        },
      ],
    });
    await until(() => hook.received.length >= 2);
    t.is(hook.received.length, 2, 'delivered twice (duplicate fault)');
    const [first] = hook.received;
    t.true(verifySignature(first!.body, first!.headers['lc-signature'] as string, ['s3cret']));
    t.is(first!.headers['user-agent'], 'llamaindex-webhook-service/1.0');
    t.is(first!.headers['x-webhook-event-type'], 'parse.success');
    t.is(first!.headers['x-extra'], 'yes');
    let parsed = JSON.parse(first!.body.toString());
    if (format === 'string') {
      t.is(typeof parsed, 'string');
      parsed = JSON.parse(parsed);
    }
    t.like(parsed, { event_type: 'parse.success', data: { id: job.id, job_id: job.id } });
    t.is(first!.headers['x-webhook-event-id'], parsed.event_id);
  }
});

test('webhooks are retried 3 times, then given up', async (t) => {
  const e = await emulator({ webhookRetryDelaysMs: [20, 40] });
  t.teardown(() => e.stop());
  let attempts = 0;
  const server = createServer((_req, res) => {
    attempts++;
    res.writeHead(500).end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  t.teardown(() => new Promise((r) => server.close(() => r(undefined))));
  const url = `http://127.0.0.1:${(server.address() as { port: number }).port}/`;
  const client = new LlamaCloud({ apiKey: 'llx-emulator', baseURL: e.url, maxRetries: 0 });
  await client.parsing.create({
    tier: 'fast',
    version: 'latest',
    upload_file: await toFile(Buffer.from('x y z'), 'a.txt'),
    webhook_configurations: [{ webhook_url: url, webhook_events: ['parse.success'] }],
  });
  await until(() => e.stats.webhookFailures === 1);
  t.is(attempts, 3);
});

test('faults: stuck PENDING, FAILED jobs, failed pages, cancel', async (t) => {
  const e = await emulator({
    faults: { stuckPending: { count: 1 }, failJobs: { count: 1, message: 'ERROR_DURING_PROCESSING: boom' } },
  });
  t.teardown(() => e.stop());
  const client = createLlamaParseClient({ apiKey: 'llx-emulator', baseURL: e.url, tier: 'fast', timeoutMs: 5000 });
  const up = () =>
    client.upload({ bytes: Buffer.from('one\fTwo\fthree'), fileName: 'a.txt', jobId: 'j', correlationId: 'c' });
  const stuck = await up();
  const failed = await up();
  e.faults.failPages = [2];
  const partial = await up();
  await until(() => e.jobs.get(partial.id)!.status === 'COMPLETED' && e.jobs.get(failed.id)!.status === 'FAILED');
  t.is((await client.get(stuck.id)).job.status, 'PENDING');
  const failedJob = await client.get(failed.id);
  t.is(failedJob.job.status, 'FAILED');
  t.is(failedJob.job.error_message, 'ERROR_DURING_PROCESSING: boom');
  const partialJob = await client.get(partial.id);
  t.deepEqual(
    partialJob.markdown!.pages.map((p) => p.success),
    [true, false, true],
  );
  t.is(partialJob.job.usage?.credits, 2, 'failed pages are not billed');
  await client.cancel(stuck.id);
  t.is((await client.get(stuck.id)).job.status, 'CANCELLED');
  const again = (await t.throwsAsync(client.cancel(stuck.id))) as StageError;
  t.is(again.errorClass, 'permanent');
});

test('page_ranges: max_pages bills at most that many pages, target_pages selects pages; PPTX slides are pages', async (t) => {
  const e = await emulator();
  t.teardown(() => e.stop());
  const client = new LlamaCloud({ apiKey: 'llx-emulator', baseURL: e.url, maxRetries: 0 });
  const parse = async (bytes: Buffer, name: string, page_ranges?: { max_pages?: number; target_pages?: string }) => {
    const before = e.stats.billedCredits;
    const result = await client.parsing.parse(
      {
        tier: 'cost_effective',
        version: 'latest',
        upload_file: await toFile(bytes, name),
        expand: ['markdown', 'usage'],
        ...(page_ranges ? { page_ranges } : {}),
      },
      { pollingInterval: 0.02, maxInterval: 0.05 },
    );
    const pages = (result.markdown?.pages ?? []).map((p) => p.page_number);
    return { pages, credits: result.job.usage?.credits, billed: e.stats.billedCredits - before };
  };
  const text = formFeedText(200);
  t.deepEqual(await parse(text, 'ff.txt', { max_pages: 5 }), {
    pages: [1, 2, 3, 4, 5],
    credits: 15,
    billed: 15,
  });
  t.deepEqual(await parse(text, 'ff.txt', { max_pages: 5, target_pages: '7,9-10' }), {
    pages: [7, 9, 10],
    credits: 9,
    billed: 9,
  });
  const all = await parse(text, 'ff.txt');
  t.is(all.pages.length, 200);
  t.is(all.billed, 600);
  const deck = await parse(makePptx(300), 'deck.pptx', { max_pages: 300 });
  t.is(deck.pages.length, 300);
  t.is(deck.billed, 900);
  const capped = await parse(makePptx(300), 'deck.pptx', { max_pages: 10 });
  t.is(capped.billed, 30, 'never more than max_pages');
  const bad = await fetch(`${e.url}/api/v2/parse/upload`, {
    method: 'POST',
    headers: { authorization: 'Bearer llx-emulator' },
    body: (() => {
      const form = new FormData();
      form.set('file', new Blob([text]), 'ff.txt');
      form.set(
        'configuration',
        JSON.stringify({ tier: 'fast', version: 'latest', page_ranges: { target_pages: '1,1' } }),
      );
      return form;
    })(),
  });
  t.is(bad.status, 422, 'duplicate pages are an error');
});

test('jobs are listed with their user_metadata: our client finds the uploads of one of our jobs', async (t) => {
  const e = await emulator();
  t.teardown(() => e.stop());
  const client = createLlamaParseClient({ apiKey: 'llx-emulator', baseURL: e.url, tier: 'fast', timeoutMs: 5000 });
  const since = new Date(Date.now() - 1000);
  const upload = (jobId: string) =>
    client.upload({ bytes: formFeedText(3), fileName: 'a.txt', jobId, correlationId: 'c', maxPages: 3 });
  const ours = '00000000-0000-4000-8000-000000000001';
  const other = '00000000-0000-4000-8000-000000000002';
  const first = await upload(ours);
  await upload(other);
  const second = await upload(ours);
  const found = await client.findUploads(ours, since);
  t.deepEqual(
    found.map((j) => j.id),
    [second.id, first.id],
    'newest first, only ours',
  );
  t.deepEqual(await client.findUploads(ours, new Date(Date.now() + 60_000)), [], 'none created since then');
});
