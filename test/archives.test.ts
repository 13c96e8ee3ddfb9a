// Issue 22, "one reader of archives": a DOCX whose structure two ZIP readers see differently
// (the issue's central-directory-offset trick, which made JSZip inflate a 314 MB document.xml in a
// 616 KB upload and killed the worker process) is refused at intake with the reason, and the CPU
// threads, which read archives through the same checks (never JSZip), fail such a document with
// the reason if one is stored anyway. A real `tvdb ingest` process takes the crafted files with
// good ones: it refuses them, completes the others, and exits normally.
import test from 'ava';
import JSZip from 'jszip';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { sql } from 'slonik';
import { z } from 'zod';
import { checkDocument } from '../lib/intake/checkDocument.ts';
import { bytesSource } from '../lib/documents/documentSource.ts';
import { createCpuPool } from '../lib/cpu/pool.ts';
import { StageError } from '../lib/errors.ts';
import type { IntakePolicy } from '../lib/intake/intakePolicy.ts';
import { crossedDirectoriesDocx, directory } from './helpers/craftedZip.ts';
import { docx, zip } from './helpers/zip.ts';
import { HAS_CORPUS, corpusFile, corpusTest } from './helpers/corpus.ts';
import { createTestDatabase } from './helpers/database.ts';
import { cleanEnv } from './helpers/cli.ts';
import { startTvdbGroup } from './helpers/processGroups.ts';

const policy: IntakePolicy = {
  maxBytes: 50 * 1024 * 1024,
  acceptedKinds: ['pdf', 'docx', 'html', 'markdown', 'text'],
  parserName: 'local',
  maxAttempts: 3,
  zip: { maxUnzippedBytes: 200 * 1024 * 1024, maxRatio: 100 },
};

// Built once: ~5 s and 300 MB of the test process's memory while it deflates.
const crafted = crossedDirectoriesDocx(300);

const nameAt = (zip: Buffer, record: number) => zip.subarray(record + 46, record + 46 + zip.readUInt16LE(record + 28));

/** A self-extractor's shape: bytes before the first entry, every offset shifted to match. */
function withPrefix(zip: Buffer, prefix: Buffer) {
  const out = Buffer.concat([prefix, zip]);
  const { eocd, records } = directory(zip);
  for (const r of records) out.writeUInt32LE(zip.readUInt32LE(r + 42) + prefix.length, prefix.length + r + 42);
  out.writeUInt32LE(zip.readUInt32LE(eocd + 16) + prefix.length, prefix.length + eocd + 16);
  return out;
}

/** A local entry (header and data) of another archive, listed in no directory of this one. */
function hiddenEntry() {
  const other = zip([{ name: 'word/document.xml', data: Buffer.alloc(100_000, 'a') }]);
  return other.subarray(0, directory(other).records[0]!);
}

/** The first entry's data declared long enough (locally and centrally) to run over the second's header. */
function overlapping(zip: Buffer) {
  const out = Buffer.from(zip);
  const { records } = directory(zip);
  const [first, second] = records.map((r) => zip.readUInt32LE(r + 42));
  const grown = zip.readUInt32LE(records[0]! + 20) + 40;
  out.writeUInt32LE(grown, first! + 18);
  out.writeUInt32LE(grown, records[0]! + 20);
  if (first! + 30 + zip.readUInt16LE(first! + 26) + grown <= second!) throw new Error('no overlap built');
  return out;
}

/** Two central records for one local header (a second name for word/document.xml's data). */
function sharedLocalHeader(zip: Buffer) {
  const { eocd, records } = directory(zip);
  const target = records.find((r) => nameAt(zip, r).toString() === 'word/document.xml')!;
  const length = 46 + zip.readUInt16LE(target + 28);
  const copy = Buffer.from(zip.subarray(target, target + length));
  copy.write('word/documenu.xml', 46); // same length, another name
  const end = Buffer.from(zip.subarray(eocd));
  end.writeUInt16LE(records.length + 1, 8);
  end.writeUInt16LE(records.length + 1, 10);
  end.writeUInt32LE(zip.readUInt32LE(eocd + 12) + length, 12);
  return Buffer.concat([zip.subarray(0, eocd), copy, end]);
}

/** A local header whose name differs from its central record's. */
function renamedLocal(zip: Buffer) {
  const out = Buffer.from(zip);
  const at = out.indexOf('word/document.xml');
  out.write('word/documenX.xml', at);
  return out;
}

/** Junk between the central directory and its end record (the trick, without a second directory). */
function gapBeforeEnd(zip: Buffer) {
  const { eocd } = directory(zip);
  return Buffer.concat([zip.subarray(0, eocd), Buffer.alloc(64, 0x20), zip.subarray(eocd)]);
}

const good = () => docx('A good memo about the pump maintenance schedule.');
const variants: Array<[string, () => Buffer, RegExp]> = [
  [
    "the issue's crossed directories (314 MB for JSZip)",
    () => crafted,
    /ambiguous ZIP container: \d+ bytes between the ZIP's central directory and its end record/,
  ],
  [
    'bytes before the first entry (an entry no directory lists)',
    () => withPrefix(good(), hiddenEntry()),
    /\d+ bytes before the ZIP's first entry/,
  ],
  [
    'bytes before the first entry (a self-extractor)',
    () => withPrefix(good(), Buffer.from('#!/bin/sh\nexit 0\n')),
    /17 bytes before the ZIP's first entry|cannot read binary content of an unrecognised type/,
  ],
  ['overlapping entries', () => overlapping(good()), /overlaps the next one/],
  [
    'two directory records for one local header',
    () => sharedLocalHeader(good()),
    /local header and central record differ \(name\)|overlaps/,
  ],
  [
    'duplicate names',
    () => docx('first', [{ name: 'word/document.xml', data: Buffer.from('<w:document/>') }]),
    /two entries named "word\/document.xml"/,
  ],
  [
    'names differing only in case',
    () => docx('first', [{ name: 'Word/Document.xml', data: Buffer.from('x') }]),
    /two entries named/,
  ],
  ['a local header that disagrees with its central record', () => renamedLocal(good()), /differ \(name\)/],
  [
    'bytes between the directory and its end record',
    () => gapBeforeEnd(good()),
    /64 bytes between the ZIP's central directory/,
  ],
];

test('JSZip (mammoth’s reader) and the intake check really read the crafted DOCX differently', async (t) => {
  t.true(crafted.length < 700 * 1024, `${crafted.length} bytes`);
  const jszip = await JSZip.loadAsync(crafted);
  const declared = (jszip.file('word/document.xml') as unknown as { _data: { uncompressedSize: number } })._data;
  t.true(declared.uncompressedSize > 300 * 1024 * 1024, `JSZip would inflate ${declared.uncompressedSize} bytes`);
  // yauzl (before the structure check) sees the harmless document.
  const yauzl = (await import('yauzl')).default;
  const zip = await yauzl.fromBufferPromise(crafted, { lazyEntries: true });
  const sizes: Record<string, number> = {};
  for await (const entry of zip.eachEntry()) sizes[entry.fileName] = entry.uncompressedSize;
  zip.close();
  t.true(sizes['word/document.xml']! < 1000);
});

test('each crafted variant is refused at intake with the reason; a good DOCX is accepted', async (t) => {
  t.like(await checkDocument(bytesSource(good()), policy), { ok: true });
  for (const [what, build, reason] of variants) {
    const check = await checkDocument(bytesSource(build()), policy);
    t.false(check.ok, what);
    t.regex((check as { reason: string }).reason, reason, what);
  }
});

test('the CPU threads read archives through the same checks: a stored crafted DOCX fails with the reason, the thread lives on', async (t) => {
  const cpu = createCpuPool({ threads: 1, timeoutS: 60, memoryMb: 256 });
  t.teardown(() => cpu.close());
  // (The self-extractor does not start as a ZIP: it is not read as one, and is refused for its type.)
  for (const [what, build, reason] of variants.filter(([what]) => !what.includes('self-extractor'))) {
    const error = await t.throwsAsync(cpu.parse(build()), undefined, what);
    t.true(error instanceof StageError && error.errorClass === 'permanent', what);
    t.regex(error!.message, reason, what);
    const pages = await cpu.countPages(build());
    t.is(pages.pages, null, `${what}: not counted, so never sent to a paid parser`);
    t.regex((pages as { reason: string }).reason, reason, what);
  }
  const parsed = await cpu.parse(good());
  t.regex(parsed.pages[0]!.markdown, /pump maintenance/);
  t.like(await cpu.countPages(good()), { exact: false });
});

corpusTest('corpus DOCX files still parse and count through the verified reader', async (t) => {
  const cpu = createCpuPool({ threads: 1, timeoutS: 120, memoryMb: 512 });
  t.teardown(() => cpu.close());
  for (const file of ['docx/fake.docx', 'docx/docx-tables.docx', 'docx/page-breaks.docx', 'docx/handbook-872p.docx']) {
    const bytes = corpusFile(file);
    t.like(await checkDocument(bytesSource(bytes), policy), { ok: true }, file);
    const parsed = await cpu.parse(bytes);
    t.true(parsed.pages[0]!.markdown.length > 10, `${file}: ${parsed.pages[0]!.markdown.slice(0, 80)}`);
    const count = await cpu.countPages(bytes);
    t.true((count.pages ?? 0) >= 1, file);
  }
});

test.serial(
  'tvdb ingest with the crafted files among good ones: the crafted are refused with their reasons, the good complete, the process exits normally',
  async (t) => {
    const db = await createTestDatabase({ poolSize: 3 });
    t.teardown(() => db.drop());
    const dir = mkdtempSync(path.join(tmpdir(), 'tvdb-archives-'));
    t.teardown(() => rmSync(dir, { recursive: true, force: true }));
    const goodFiles = {
      'memo.docx': good(),
      'notes.md': Buffer.from('# Notes\n\nThe north gate closes at six on Fridays.\n'),
    };
    const craftedFiles = Object.fromEntries(variants.map(([, build], i) => [`crafted-${i}.docx`, build()]));
    for (const [name, bytes] of Object.entries({ ...goodFiles, ...craftedFiles }))
      writeFileSync(path.join(dir, name), bytes);
    const ingest = startTvdbGroup(t, ['ingest', dir], cleanEnv({ DATABASE_URL: db.url, TVDB_POLL_INTERVAL_MS: '200' }));
    const { code, signal } = await ingest.exited;
    t.is(signal, null, ingest.output().slice(-2000));
    t.is(code, 1, 'exit 1: some files were refused');
    const refused = ingest
      .output()
      .split('\n')
      .filter((line) => /^\s*refused\s/.test(line));
    t.is(refused.length, variants.length, ingest.output().slice(-3000));
    for (const [i, [what, , reason]] of variants.entries()) {
      const line = refused.find((l) => l.includes(`crafted-${i}.docx`));
      t.regex(line ?? '', reason, what);
    }
    const jobs = await db.pool.any(
      sql.type(z.object({ file_name: z.string(), state: z.string() }))`select file_name, state::text from jobs`,
    );
    t.deepEqual(jobs.map((j) => [path.basename(j.file_name), j.state]).sort(), [
      ['memo.docx', 'complete'],
      ['notes.md', 'complete'],
    ]);
  },
);
