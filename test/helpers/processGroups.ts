// tvdb processes in their own process group (detached), so a test can signal the whole group
// (SIGKILL, as the OOM killer or a lost host would) and nothing it started outlives it: whatever
// is still running when the test ends is killed by its group.
import { spawn, type ChildProcess } from 'node:child_process';
import type { ExecutionContext } from 'ava';
import { PROJECT_DIR, TVDB_BIN } from './cli.ts';

export type GroupProcess = {
  child: ChildProcess;
  pid: number;
  output(): string;
  /** Resolves with the exit code (null when a signal ended it) and the signal. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Signals every process of the group. */
  signalGroup(signal: NodeJS.Signals): void;
  running(): boolean;
};

export function startTvdbGroup(t: ExecutionContext, args: string[], env: NodeJS.ProcessEnv): GroupProcess {
  const child = spawn(process.execPath, [TVDB_BIN, ...args], {
    env,
    cwd: PROJECT_DIR,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let output = '';
  child.stdout!.on('data', (d) => (output += d));
  child.stderr!.on('data', (d) => (output += d));
  let done = false;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('exit', (code, signal) => {
      done = true;
      resolve({ code, signal });
    }),
  );
  const pid = child.pid!;
  const signalGroup = (signal: NodeJS.Signals) => {
    try {
      process.kill(-pid, signal);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
    }
  };
  t.teardown(async () => {
    signalGroup('SIGKILL');
    await exited;
  });
  return { child, pid, output: () => output, exited, signalGroup, running: () => !done };
}

/** Waits for a condition checked every `everyMs`; throws with `what` after `timeoutMs`. */
export async function waitFor<T>(
  what: string,
  check: () => Promise<T | undefined | null | false>,
  timeoutMs: number,
  everyMs = 100,
): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
