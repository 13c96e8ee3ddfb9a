// Issue 22: the zip structures of real Office files mutated at random for a bounded time (fast-check):
// fields of the end record, the central records and the local headers overwritten, bytes inserted
// before the first entry, before the directory or before the end record, central records
// duplicated, the file cut short. Each mutant goes through the intake check and, whatever it said,
// through the CPU threads' parse and page count (a document stored before a check existed). No
// process exits, every task settles within its limits, every failure is a permanent error with a
// reason, and the test process's memory stays bounded (a thread over its limits is noticed).
import test from 'ava';
import fc from 'fast-check';
import { checkDocument } from '../lib/intake/checkDocument.ts';
import { bytesSource } from '../lib/documents/documentSource.ts';
import { createCpuPool } from '../lib/cpu/pool.ts';
import { StageError } from '../lib/errors.ts';
import type { IntakePolicy } from '../lib/intake/intakePolicy.ts';
import { directory } from './helpers/craftedZip.ts';
import { HAS_CORPUS, CORPUS_MISSING, corpusFile, corpusTest } from './helpers/corpus.ts';
import { makePptx, makeXlsx } from './helpers/officeFiles.ts';

const FUZZ_MS = Number(process.env.TVDB_FUZZ_MS ?? 6000);
const policy: IntakePolicy = {
  maxBytes: 50 * 1024 * 1024,
  acceptedKinds: ['pdf', 'docx', 'html', 'markdown', 'text', 'pptx', 'xlsx'],
  parserName: 'local',
  maxAttempts: 3,
  zip: { maxUnzippedBytes: 20 * 1024 * 1024, maxRatio: 100 },
};

type Op =
  | { kind: 'field'; region: 'eocd' | 'central' | 'local'; record: number; at: number; width: 2 | 4; value: number }
  | { kind: 'insert'; where: 'start' | 'directory' | 'end' | 'anywhere'; at: number; bytes: Uint8Array }
  | { kind: 'duplicate'; record: number }
  | { kind: 'truncate'; at: number };

const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({
    kind: fc.constant('field' as const),
    region: fc.constantFrom('eocd' as const, 'central' as const, 'local' as const),
    record: fc.nat(),
    at: fc.nat({ max: 45 }),
    width: fc.constantFrom(2 as const, 4 as const),
    value: fc.oneof(fc.nat({ max: 64 }), fc.integer({ min: 0, max: 0xffffffff }), fc.constant(0xffffffff)),
  }),
  fc.record({
    kind: fc.constant('insert' as const),
    where: fc.constantFrom('start' as const, 'directory' as const, 'end' as const, 'anywhere' as const),
    at: fc.nat(),
    bytes: fc.uint8Array({ minLength: 1, maxLength: 64 }),
  }),
  fc.record({ kind: fc.constant('duplicate' as const), record: fc.nat() }),
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
);

function mutate(original: Buffer, ops: Op[]): Buffer {
  let zip = Buffer.from(original);
  for (const o of ops) {
    let layout: ReturnType<typeof directory>;
    try {
      layout = directory(zip);
    } catch {
      layout = { eocd: -1, records: [] };
    }
    const { eocd, records } = layout;
    if (o.kind === 'field') {
      const base =
        o.region === 'eocd'
          ? eocd
          : o.region === 'central'
            ? records[o.record % Math.max(1, records.length)]
            : (() => {
                const r = records[o.record % Math.max(1, records.length)];
                return r === undefined || r + 46 > zip.length ? undefined : zip.readUInt32LE(r + 42);
              })();
      if (base === undefined || base < 0) continue;
      const at = base + (o.region === 'eocd' ? o.at % 20 : o.region === 'local' ? o.at % 28 : o.at);
      if (at + o.width > zip.length) continue;
      if (o.width === 2) zip.writeUInt16LE(o.value & 0xffff, at);
      else zip.writeUInt32LE(o.value >>> 0, at);
    } else if (o.kind === 'insert') {
      const at =
        o.where === 'start'
          ? 0
          : o.where === 'end' && eocd >= 0
            ? eocd
            : o.where === 'directory' && records.length
              ? records[0]!
              : o.at % (zip.length + 1);
      zip = Buffer.concat([zip.subarray(0, at), Buffer.from(o.bytes), zip.subarray(at)]);
    } else if (o.kind === 'duplicate') {
      const r = records[o.record % Math.max(1, records.length)];
      if (r === undefined || eocd < 0 || r + 46 > zip.length) continue;
      const length = 46 + zip.readUInt16LE(r + 28) + zip.readUInt16LE(r + 30) + zip.readUInt16LE(r + 32);
      const end = Buffer.from(zip.subarray(eocd));
      if (end.length < 22) continue;
      end.writeUInt16LE((end.readUInt16LE(8) + 1) & 0xffff, 8);
      end.writeUInt16LE((end.readUInt16LE(10) + 1) & 0xffff, 10);
      end.writeUInt32LE((end.readUInt32LE(12) + length) >>> 0, 12);
      zip = Buffer.concat([zip.subarray(0, eocd), zip.subarray(r, r + length), end]);
    } else {
      zip = zip.subarray(0, Math.max(1, o.at % zip.length));
    }
  }
  return zip;
}

corpusTest(
  `mutated DOCX/PPTX/XLSX zip structures (${FUZZ_MS / 1000} s): no process exits, every task settles within its limits with a reason`,
  async (t) => {
    if (!HAS_CORPUS) return t.log(CORPUS_MISSING);
    const seeds: Array<[string, Buffer]> = [
      ['docx/fake.docx', corpusFile('docx/fake.docx')],
      ['docx/docx-tables.docx', corpusFile('docx/docx-tables.docx')],
      ['docx/page-breaks.docx', corpusFile('docx/page-breaks.docx')],
      ['bad/fake-power-point-malformed.pptx', corpusFile('bad/fake-power-point-malformed.pptx')],
      // The corpus has no PPTX or XLSX that opens: generated ones (test/helpers/officeFiles.ts).
      ['generated.pptx', makePptx(3)],
      ['generated.xlsx', makeXlsx(2)],
    ];
    const cpu = createCpuPool({ threads: 1, timeoutS: 20, memoryMb: 128, zipLimits: policy.zip });
    t.teardown(() => cpu.close());
    const outcomes: Record<string, number> = {};
    const note = (what: string) => (outcomes[what] = (outcomes[what] ?? 0) + 1);
    let peak = 0;
    const sample = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 50);
    const before = process.memoryUsage().rss;
    let runs = 0;
    const settles = async (what: string, work: Promise<unknown>) => {
      const started = performance.now();
      try {
        await work;
        note(`${what} ok`);
      } catch (error) {
        if (!(error instanceof StageError) || error.errorClass !== 'permanent' || !error.message)
          throw new Error(`${what}: not a permanent failure with a reason: ${String(error)}`);
        note(`${what} failed: ${error.message.replace(/[\d"].*$/, '').slice(0, 60)}`);
      }
      if (performance.now() - started > 25_000) throw new Error(`${what} took over its time limit`);
    };
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...seeds),
        fc.array(op, { minLength: 1, maxLength: 4 }),
        async ([, seed], ops) => {
          runs++;
          const mutant = mutate(seed, ops);
          const check = await checkDocument(bytesSource(mutant), policy);
          note(check.ok ? 'intake accepted' : `intake refused: ${check.reason.replace(/[\d"(].*$/, '').slice(0, 50)}`);
          await settles('parse', cpu.parse(mutant));
          await settles(
            'count',
            cpu
              .countPages(mutant)
              .then((c) => c.pages ?? Promise.reject(new StageError('permanent', (c as { reason: string }).reason))),
          );
        },
      ),
      { interruptAfterTimeLimit: FUZZ_MS, numRuns: 1_000_000 },
    );
    clearInterval(sample);
    t.true(runs > 20, `${runs} mutants`);
    const grown = (peak - before) / 2 ** 20;
    t.true(grown < 1024, `the test process grew by ${grown.toFixed(0)} MB`);
    const good = await cpu.parse(corpusFile('docx/fake.docx'));
    t.true(good.pages.length > 0, 'the pool still parses');
    t.log(`${runs} mutants in ${FUZZ_MS / 1000} s, process grew by at most ${grown.toFixed(0)} MB`);
    t.log(
      Object.entries(outcomes)
        .sort((a, b) => b[1] - a[1])
        .map(([k, v]) => `${v} ${k}`)
        .join('\n'),
    );
  },
);
