// Benchmarks that cannot rot: runs every `bench:*` script of package.json at a tiny size (CI, by
// .ci/run), each in seconds, against one embedded PostgreSQL (or BENCH_DATABASE_URL). A script that
// fails, hangs past its limit or has no smoke size below fails the run. The sizes are the
// benchmarks' own knobs; BENCH_SMOKE=1 shrinks the ones that read fixed corpus files and tells
// every benchmark not to judge its targets (bench/harness.ts). Usage: node scripts/bench-smoke.ts [bench:x ...]
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startEmbeddedPostgres } from '../lib/db/embedded.ts';
import { freePort } from '../lib/http/freePort.ts';
import { createLogger } from '../lib/log.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const LIMIT_S = Number(process.env.BENCH_SMOKE_LIMIT_S ?? 180);

/** The smoke size of each benchmark: a new `bench:*` script needs its line here. */
export const SMOKE_SIZES: Record<string, Record<string, string>> = {
  'bench:webhook': { BENCH_SECONDS: '1' },
  'bench:pipeline': { BENCH_DOCS: '5', BENCH_RUNS: 'lifted' },
  'bench:views': { BENCH_JOBS: '500', BENCH_SPREAD_DAYS: '2' },
  'bench:outbox': { BENCH_MOVES_JOBS: '10', BENCH_EVENTS: '50' },
  'bench:uploads': { BENCH_UPLOADS: '2', BENCH_FILE_MB: '1' },
  'bench:memory': {}, // BENCH_SMOKE: a small PDF, one run
  'bench:eventloop': {}, // BENCH_SMOKE: a small PDF and 100 kB of text
  'bench:tokenizer': {}, // BENCH_SMOKE: 200,000 characters
  'bench:search': { BENCH_VECTORS: '2000', BENCH_DIMENSIONS: '32', BENCH_QUERIES: '10', BENCH_SCAN_QUERIES: '3' },
  'bench:handoff': { BENCH_DOCS: '5' },
  'bench:scale': { BENCH_DOCS: '20', BENCH_WORKERS: '1' },
  'bench:retention': { N: '1000' },
};

const scripts = Object.keys(
  (JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts,
).filter((s) => s.startsWith('bench:'));
const chosen = process.argv.slice(2).length ? process.argv.slice(2) : scripts;

function run(name: string, env: NodeJS.ProcessEnv): Promise<{ code: number | null; seconds: number; output: string }> {
  return new Promise((resolve) => {
    const started = performance.now();
    const child = spawn('npm', ['run', '--silent', name], {
      cwd: ROOT,
      env,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    const timer = setTimeout(() => {
      output += `\n(stopped after ${LIMIT_S} s)\n`;
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {}
    }, LIMIT_S * 1000);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, seconds: (performance.now() - started) / 1000, output });
    });
  });
}

let admin = process.env.BENCH_DATABASE_URL;
let release = async () => {};
let dataDir: string | undefined;
if (!admin) {
  dataDir = mkdtempSync(path.join(tmpdir(), 'tvdb-bench-smoke-'));
  const server = await startEmbeddedPostgres({
    dataDir,
    port: await freePort(),
    log: createLogger('warn'),
    durable: false,
  });
  admin = server.urlFor('postgres');
  release = server.release;
}
const failures: string[] = [];
try {
  for (const name of chosen) {
    const size = SMOKE_SIZES[name];
    if (!size) {
      failures.push(`${name}: no smoke size (add it to SMOKE_SIZES in scripts/bench-smoke.ts)`);
      console.log(`${name.padEnd(18)} no smoke size`);
      continue;
    }
    const result = await run(name, { ...process.env, ...size, BENCH_SMOKE: '1', BENCH_DATABASE_URL: admin });
    const knobs =
      Object.entries(size)
        .map(([k, v]) => `${k}=${v}`)
        .join(' ') || 'BENCH_SMOKE=1';
    console.log(
      `${name.padEnd(18)} ${result.code === 0 ? 'ok    ' : 'FAILED'} ${result.seconds.toFixed(1).padStart(6)} s  ${knobs}`,
    );
    if (result.code !== 0) {
      failures.push(`${name}: exit ${result.code}`);
      console.log(result.output.split('\n').slice(-25).join('\n'));
    }
  }
} finally {
  await release();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
}
if (failures.length) {
  console.error(`\nbenchmark smoke run failed:\n${failures.join('\n')}`);
  process.exit(1);
}
console.log(`\n${chosen.length} benchmark(s) ran at their smoke size`);
