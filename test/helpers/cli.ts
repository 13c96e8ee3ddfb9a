// Runs the real CLI as a child process (bin/tvdb.js on this Node 24).
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createServer } from 'node:net';
import { readFileSync } from 'node:fs';
import path from 'node:path';

export const PROJECT_DIR = fileURLToPath(new URL('../..', import.meta.url));
export const TVDB_BIN = fileURLToPath(new URL('../../bin/tvdb.js', import.meta.url));

export type CliResult = { code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string };

export function cleanEnv(extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (!/^(DATABASE_URL|TVDB_|LLAMA|EMBEDDINGS_|PUBLIC_BASE_URL|TEST_DATABASE_URL)/.test(k)) env[k] = v;
  }
  env.LOG_LEVEL = 'warn';
  for (const [k, v] of Object.entries(extra)) if (v !== undefined) env[k] = v;
  return env;
}

export function runTvdb(
  args: string[],
  env: NodeJS.ProcessEnv,
  options: { cwd?: string; input?: string; uid?: number; gid?: number; timeoutMs?: number } = {},
): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [TVDB_BIN, ...args], {
      env,
      cwd: options.cwd ?? PROJECT_DIR,
      uid: options.uid,
      gid: options.gid,
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 120_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
    child.stdin.end(options.input ?? '');
  });
}

export { freePort } from '../../lib/http/freePort.ts';

/** Whether the embedded server of data directory `dataDir` runs (its postmaster.pid names a live process). */
export function embeddedRunning(dataDir: string): boolean {
  try {
    const pid = Number(readFileSync(path.join(dataDir, 'pg', 'postmaster.pid'), 'utf8').split('\n')[0]);
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export function isListening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer()
      .once('error', () => resolve(true))
      .listen(port, '127.0.0.1', () => server.close(() => resolve(false)));
  });
}
