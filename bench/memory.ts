// npm run bench:memory: peak RSS of a real `tvdb ingest` process (CLI, workers, CPU threads; the
// database is a separate server) on the corpus's largest PDF (619 pages) and War and Peace
// (3.2 MB of text), side by side with the same command on a one-line text file (the baseline:
// Node, the modules and an idle CPU thread) and against the targets (300 MB and 250 MB).
// Peak RSS is the kernel's high-water mark (VmHWM in /proc/<pid>/status), read until the process
// exits. Needs ../shared/corpus.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { SMOKE, exitWith, scratchDatabase } from './harness.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const CORPUS = path.join(ROOT, '..', 'shared', 'corpus');
if (!existsSync(CORPUS)) {
  console.error(`bench:memory needs the corpus at ${CORPUS}`);
  process.exit(2);
}
const dir = mkdtempSync(path.join(tmpdir(), 'tvdb-bench-memory-'));
const tiny = path.join(dir, 'one-line.txt');
writeFileSync(tiny, 'One line of text, for the baseline.\n');
const cases = SMOKE
  ? [
      { name: 'baseline: a one-line text file', file: tiny, target: null },
      { name: 'fake-memo.pdf (smoke size)', file: path.join(CORPUS, 'pdf', 'fake-memo.pdf'), target: 300 },
    ]
  : [
      { name: 'baseline: a one-line text file', file: tiny, target: null },
      { name: 'DA-619p.pdf (619 pages)', file: path.join(CORPUS, 'pdf', 'DA-619p.pdf'), target: 300 },
      {
        name: 'War and Peace (3.2 MB text)',
        file: path.join(CORPUS, 'text', 'book-war-and-peace-1225p.txt'),
        target: 250,
      },
    ];

function peakRss(file: string, databaseUrl: string): Promise<{ peakMb: number; seconds: number; code: number | null }> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const child = spawn(process.execPath, [path.join(ROOT, 'bin', 'tvdb.js'), 'ingest', file], {
      cwd: ROOT,
      env: { ...process.env, DATABASE_URL: databaseUrl, LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    let peakKb = 0;
    const sample = () => {
      try {
        const status = readFileSync(`/proc/${child.pid}/status`, 'utf8');
        peakKb = Math.max(peakKb, Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0));
      } catch {
        // exited between samples
      }
    };
    const timer = setInterval(sample, 20);
    child.on('error', reject);
    child.on('exit', (code) => {
      clearInterval(timer);
      resolve({ peakMb: peakKb / 1024, seconds: (Date.now() - started) / 1000, code });
    });
  });
}

const rows: string[] = [];
// Each case runs RUNS times (GC timing moves the peak by ~15 MB): the median and the largest peak
// are reported, and the verdict holds for both.
const RUNS = Number(process.env.BENCH_RUNS ?? (SMOKE ? 1 : 3));
let missed = false;
let wrong = false;
for (const c of cases) {
  const peaks: number[] = [];
  const times: number[] = [];
  let exit: number | null = 0;
  for (let run = 0; run < RUNS; run++) {
    // A database of its own for each run: nothing is reused from an earlier ingest.
    const db = await scratchDatabase();
    try {
      const { peakMb, seconds, code } = await peakRss(c.file, db.url);
      peaks.push(peakMb);
      times.push(seconds);
      if (code !== 0) exit = code;
    } finally {
      await db.drop();
    }
  }
  peaks.sort((a, b) => a - b);
  const median = peaks[Math.floor(peaks.length / 2)]!;
  const max = peaks.at(-1)!;
  const verdict = c.target === null ? '' : max <= c.target ? `<= ${c.target} MB: ok` : `over ${c.target} MB`;
  if (c.target !== null && max > c.target) missed = true;
  if (exit !== 0) wrong = true;
  const seconds = times.sort((a, b) => a - b)[Math.floor(times.length / 2)]!;
  rows.push(
    `| ${c.name} | ${median.toFixed(0)} MB | ${max.toFixed(0)} MB | ${seconds.toFixed(1)} s | ${exit} | ${verdict} |`,
  );
}
rmSync(dir, { recursive: true, force: true });
console.log(
  `| tvdb ingest of | peak RSS, median of ${RUNS} | largest | time | exit | target |\n|---|---|---|---|---|---|`,
);
for (const row of rows) console.log(row);
exitWith({ targetsMet: !missed, wrong });
