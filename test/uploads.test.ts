// POST /v1/documents under hostile and careless input: files spooled to disk and each stored or
// refused on its own; every limit answers with the file named in `refused`; a NUL in a name is a
// refusal, not a 500 that left earlier files committed; zip bombs are refused at intake.
import test from 'ava';
import { request } from 'node:http';
import { sql } from 'slonik';
import { z } from 'zod';
import { createTestDatabase, type TestDatabase } from './helpers/database.ts';
import { testServer } from './helpers/server.ts';
import { docx, zip } from './helpers/zip.ts';
import { ingestDocument } from '../lib/intake/ingestDocument.ts';

let db: TestDatabase;
let url: string;
let close: () => Promise<void>;
const TOKEN = 'upload-test-token-0123456789';
const auth = { authorization: `Bearer ${TOKEN}` };
test.before(async () => {
  db = await createTestDatabase();
  const started = await testServer(db.pool, {
    apiToken: TOKEN,
    uploads: { maxRequestBytes: 256 * 1024, maxFiles: 3, maxConcurrent: 1 },
  });
  url = started.url;
  close = () => started.server.close();
});
test.after.always(async () => {
  await close?.();
  await db?.drop();
});

type Answer = { jobs?: Array<{ file: string; job_id: string }>; refused?: Array<{ file: string; reason: string }> };
const upload = async (files: Array<[string, string | Buffer]>) => {
  const form = new FormData();
  for (const [name, content] of files)
    form.append('file', new Blob([typeof content === 'string' ? content : new Uint8Array(content)]), name);
  const response = await fetch(`${url}/v1/documents`, { method: 'POST', body: form, headers: auth });
  return { status: response.status, headers: response.headers, body: (await response.json()) as Answer };
};
const jobNames = () =>
  db.pool.anyFirst(sql.type(z.object({ file_name: z.string() }))`select file_name from jobs order by created_at`);

// A multipart body written by hand: file names as raw bytes (FormData would escape a NUL).
// `filename` is the Content-Disposition parameter as written (quoted, or RFC 5987 filename*=).
function rawUpload(parts: Array<[string, string]>, extraHeaders: Record<string, string> = {}) {
  const boundary = 'tvdbRawBoundary';
  const body = Buffer.concat([
    ...parts.map(([filename, content]) =>
      Buffer.from(
        `--${boundary}\r\nContent-Disposition: form-data; name="file"; ${filename}\r\nContent-Type: text/plain\r\n\r\n${content}\r\n`,
      ),
    ),
    Buffer.from(`--${boundary}--\r\n`),
  ]);
  return new Promise<{ status: number; body: Answer }>((resolve, reject) => {
    const u = new URL(`${url}/v1/documents`);
    const req = request(
      {
        host: u.hostname,
        port: u.port,
        path: u.pathname,
        method: 'POST',
        headers: {
          ...auth,
          'content-type': `multipart/form-data; boundary=${boundary}`,
          'content-length': body.length,
          ...extraHeaders,
        },
      },
      (res) => {
        let text = '';
        res
          .on('data', (d) => (text += d))
          .on('end', () => resolve({ status: res.statusCode!, body: JSON.parse(text) }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

test.serial('a NUL in one file name refuses that file only; names are stored as given', async (t) => {
  const before = (await jobNames()).length;
  const answer = await rawUpload([
    ['filename="first.txt"', 'the first file'],
    ["filename*=UTF-8''bad%00name.txt", 'a file whose name holds a NUL'],
    ["filename*=UTF-8''third%20%1B%5B31mred%1B%5B0m.txt", 'a name with terminal escapes'],
  ]);
  t.is(answer.status, 202);
  t.deepEqual(
    answer.body.jobs!.map((j) => j.file),
    ['first.txt', 'third \u001b[31mred\u001b[0m.txt'],
  );
  t.deepEqual(answer.body.refused, [
    { file: 'bad\u0000name.txt', reason: 'the file name contains a NUL byte, which cannot be stored' },
  ]);
  const names = await jobNames();
  t.is(names.length, before + 2);
  t.true(names.includes('third \u001b[31mred\u001b[0m.txt'), 'stored as given');
});

test.serial('files over the size limit and beyond the files limit are listed in refused', async (t) => {
  const big = Buffer.alloc(2 * 1024 * 1024, 'a'); // over the test server's 1 MB file limit
  const answer = await upload([
    ['one.txt', 'one'],
    ['big.txt', big.subarray(0, 200 * 1024)], // within
    ['two.txt', 'two'],
    ['four.txt', 'four'], // beyond 3 files
    ['five.txt', 'five'],
  ]);
  t.is(answer.status, 202);
  t.deepEqual(
    answer.body.jobs!.map((j) => j.file),
    ['one.txt', 'big.txt', 'two.txt'],
  );
  t.deepEqual(
    answer.body.refused!.map((r) => r.file),
    ['four.txt', 'five.txt'],
  );
  t.regex(answer.body.refused![0]!.reason, /beyond the limit of 3 files per request \(TVDB_MAX_FILES_PER_REQUEST\)/);
});

test.serial('a request over TVDB_MAX_REQUEST_BYTES: 413 before reading when declared; cut when streamed', async (t) => {
  const declared = await rawUpload([['filename="x.txt"', 'x'.repeat(300 * 1024)]]);
  t.is(declared.status, 413);
  // Streamed (chunked, no length): the files before the limit are stored, the rest refused.
  const form = new FormData();
  form.append('file', new Blob(['small file']), 'small.txt');
  form.append('file', new Blob([Buffer.alloc(400 * 1024, 'b')]), 'huge.txt');
  const encoded = new Response(form); // one encoding: its boundary is in its content type
  const response = await fetch(`${url}/v1/documents`, {
    method: 'POST',
    body: encoded.body,
    duplex: 'half',
    headers: { ...auth, 'content-type': encoded.headers.get('content-type')! },
  } as RequestInit);
  const body = (await response.json()) as Answer;
  t.is(response.status, 202);
  t.deepEqual(
    body.jobs!.map((j) => j.file),
    ['small.txt'],
  );
  t.is(body.refused![0]!.file, 'huge.txt');
  t.regex(body.refused![0]!.reason, /TVDB_MAX_REQUEST_BYTES/);
});

test.serial('uploads beyond TVDB_MAX_CONCURRENT_UPLOADS answer 429 with Retry-After', async (t) => {
  // Hold one upload open (the test server takes one at a time), then try another.
  const boundary = 'slowBoundary';
  const u = new URL(`${url}/v1/documents`);
  const slow = request({
    host: u.hostname,
    port: u.port,
    path: u.pathname,
    method: 'POST',
    headers: { ...auth, 'content-type': `multipart/form-data; boundary=${boundary}` },
  });
  const slowAnswer = new Promise<number>((resolve) =>
    slow.on('response', (res) => (res.resume(), resolve(res.statusCode!))),
  );
  slow.write(`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="slow.txt"\r\n\r\nslow`);
  await new Promise((r) => setTimeout(r, 300));
  const busy = await upload([['other.txt', 'other']]);
  t.is(busy.status, 429);
  t.is(busy.headers.get('retry-after'), '2');
  slow.end(`\r\n--${boundary}--\r\n`);
  t.is(await slowAnswer, 202);
  t.is((await upload([['later.txt', 'later']])).status, 202, 'free again');
});

test.serial('a zip bomb is refused at intake before anything inflates it; a real DOCX goes in', async (t) => {
  const policy = (await import('./helpers/server.ts')) && {
    maxBytes: 10 * 1024 * 1024,
    acceptedKinds: ['pdf', 'docx', 'html', 'markdown', 'text'] as const,
    parserName: 'local',
    maxAttempts: 3,
    zip: { maxUnzippedBytes: 8 * 1024 * 1024, maxRatio: 100 },
  };
  const zeros = Buffer.alloc(16 * 1024 * 1024); // deflates ~1000:1
  const bomb = docx('bomb', [{ name: 'word/media/zeros.bin', data: zeros }]);
  const ratioBomb = docx('ratio', [{ name: 'word/media/zeros.bin', data: zeros.subarray(0, 4 * 1024 * 1024) }]);
  const liar = docx('liar', [
    { name: 'word/media/zeros.bin', data: zeros.subarray(0, 4 * 1024 * 1024), declaredSize: 1000 },
  ]);
  const results = await Promise.all(
    [bomb, ratioBomb, liar, docx('a real document')].map((bytes, i) =>
      ingestDocument(
        db.pool,
        { bytes, fileName: `z${i}.docx` },
        { ...policy, acceptedKinds: [...policy.acceptedKinds] },
      ),
    ),
  );
  t.like(results[0], { ok: false });
  t.regex((results[0] as { reason: string }).reason, /TVDB_MAX_UNZIPPED_BYTES/);
  t.regex((results[1] as { reason: string }).reason, /TVDB_MAX_ZIP_RATIO/);
  t.regex((results[2] as { reason: string }).reason, /corrupt ZIP container \(too many bytes in the stream/);
  t.like(results[3], { ok: true, kind: 'docx' });
  // A ZIP of another kind is refused by type without being inflated.
  const other = await ingestDocument(
    db.pool,
    { bytes: zip([{ name: 'a.txt', data: zeros }]), fileName: 'a.zip' },
    {
      ...policy,
      acceptedKinds: [...policy.acceptedKinds],
    },
  );
  t.like(other, {
    ok: false,
    reason: 'unsupported type: the local parser cannot read a ZIP archive that is not a Word document',
  });
});
