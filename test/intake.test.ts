import test from 'ava';
import { sql } from 'slonik';
import { z } from 'zod';
import { createTestDatabase, type TestDatabase } from './helpers/database.ts';
import { ingestDocument } from '../lib/intake/ingestDocument.ts';
import type { IntakePolicy } from '../lib/intake/intakePolicy.ts';
import { checkDocument } from '../lib/intake/checkDocument.ts';
import { bytesSource } from '../lib/documents/documentSource.ts';

const refusalReason = async (bytes: Uint8Array, p: IntakePolicy) => {
  const check = await checkDocument(bytesSource(bytes), p);
  return check.ok ? null : check.reason;
};
import { detectType } from '../lib/documents/detectType.ts';
import { minimalPdf } from '../lib/documents/minimalPdf.ts';
import { HAS_CORPUS, corpusFile, corpusTest } from './helpers/corpus.ts';

let db: TestDatabase;
test.before(async () => (db = await createTestDatabase()));
test.after.always(() => db?.drop());

const policy: IntakePolicy = {
  maxBytes: 1000,
  acceptedKinds: ['pdf', 'docx', 'html', 'markdown', 'text'],
  parserName: 'local',
  maxAttempts: 3,
  zip: { maxUnzippedBytes: 10 * 1024 * 1024, maxRatio: 100 },
};
const count = (table: 'documents' | 'jobs') =>
  db.pool.oneFirst(sql.type(z.object({ n: z.number() }))`select count(*)::int as n from ${sql.identifier([table])}`);

test('types come from content, not names', (t) => {
  t.is(detectType(minimalPdf([['hi']])).kind, 'pdf');
  t.is(detectType(Buffer.from('plain words')).kind, 'text');
  t.is(detectType(Buffer.from('# Title\n\ntext')).kind, 'markdown');
  t.is(detectType(Buffer.from('a | b\n---|---\n1 | 2')).kind, 'markdown');
  t.is(detectType(Buffer.from('<!DOCTYPE html><html><body>x</body></html>')).kind, 'html');
  t.is(detectType(Buffer.from('<h3 class="t">Titel</h3>')).kind, 'html');
  t.is(detectType(Buffer.from('\ufeffbom text')).kind, 'text');
  t.is(detectType(Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('hello', 'utf16le')])).kind, 'text');
  t.is(detectType(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0, 0, 0, 0])).kind, 'image');
  t.is(detectType(Buffer.from([0, 1, 2, 3, 0, 0, 9])).kind, 'unknown');
});

test.serial(
  'identical bytes are stored once; each ingest is its own job in parse_queued with the parse task queued',
  async (t) => {
    const bytes = Buffer.from('the same words twice');
    const a = await ingestDocument(db.pool, { bytes, fileName: 'a.txt' }, policy);
    const b = await ingestDocument(db.pool, { bytes, fileName: 'b.txt', correlationId: 'given-corr' }, policy);
    t.true(a.ok && b.ok);
    if (!a.ok || !b.ok) return;
    t.is(a.documentId, b.documentId);
    t.true(a.newDocument);
    t.false(b.newDocument);
    t.not(a.jobId, b.jobId);
    t.is(b.correlationId, 'given-corr');
    t.regex(a.correlationId, /^[0-9a-f-]{36}$/);
    const jobs = await db.pool.any(sql.type(
      z.object({ state: z.string(), file_name: z.string(), queued: z.boolean() }),
    )`
    select j.state::text, j.file_name, exists (select 1 from graphile_worker.jobs g where g.key = 'parse:' || j.id) as queued
    from jobs j where j.id in (${a.jobId}::uuid, ${b.jobId}::uuid) order by j.file_name`);
    t.deepEqual(jobs, [
      { state: 'parse_queued', file_name: 'a.txt', queued: true },
      { state: 'parse_queued', file_name: 'b.txt', queued: true },
    ]);
    const trail = await db.pool.anyFirst(sql.type(z.object({ s: z.string() }))`
    select to_state::text as s from job_events where job_id = ${b.jobId}::uuid order by id`);
    t.deepEqual(trail, ['uploaded', 'parse_queued']);
  },
);

test.serial('refusals store nothing and say why: empty, too large, unsupported', async (t) => {
  const documents = await count('documents');
  const jobs = await count('jobs');
  const cases: Array<[Buffer, RegExp]> = [
    [Buffer.alloc(0), /empty/],
    [Buffer.alloc(2000, 'a'), /over the limit of 1000 \(TVDB_MAX_FILE_BYTES\)/],
    [
      Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
      /unsupported type: the local parser cannot read images/,
    ],
    [Buffer.from([0x50, 0x4b, 0x03, 0x04, ...Buffer.from('ppt/slides/slide1.xml')]), /PowerPoint/],
  ];
  for (const [bytes, reason] of cases) {
    const result = await ingestDocument(db.pool, { bytes, fileName: 'x' }, policy);
    t.false(result.ok);
    if (!result.ok) t.regex(result.reason, reason);
  }
  t.is(await count('documents'), documents);
  t.is(await count('jobs'), jobs);
});

test('LlamaParse accepts types the local parser refuses', async (t) => {
  const png = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  t.is(await refusalReason(png, { ...policy, acceptedKinds: ['image'] }), null);
});

corpusTest(
  'corpus bad/ files: empty and pptx are refused; not-a-pdf is text; truncated is a PDF (fails at parse)',
  async (t) => {
    t.regex((await refusalReason(corpusFile('bad/empty.txt'), policy)) ?? '', /empty/);
    t.regex(
      (await refusalReason(corpusFile('bad/fake-power-point-malformed.pptx'), { ...policy, maxBytes: 1e9 })) ?? '',
      /PowerPoint/,
    );
    t.is(detectType(corpusFile('bad/not-a-pdf.pdf')).kind, 'text');
    t.is(detectType(corpusFile('bad/truncated.pdf')).kind, 'pdf');
    t.is(detectType(corpusFile('bad/fake-incomplete-json.txt')).kind, 'text');
  },
);
