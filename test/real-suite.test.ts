import test from 'ava';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { cleanEnv, PROJECT_DIR } from './helpers/cli.ts';

test('npm run test:real refuses to start when its estimate exceeds REAL_TEST_BUDGET_USD, and says it called nothing', async (t) => {
  const runner = fileURLToPath(new URL('./real/run.ts', import.meta.url));
  const result = await new Promise<{ code: number | null; out: string }>((resolve) => {
    const child = spawn(process.execPath, [runner], {
      cwd: PROJECT_DIR,
      env: cleanEnv({ REAL_TEST_BUDGET_USD: '0.000001', TEST_DATABASE_URL: process.env.TVDB_TEST_ADMIN_URL }),
    });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    child.on('exit', (code) => resolve({ code, out }));
  });
  t.is(result.code, 1);
  t.regex(result.out, /LlamaParse: emulator \(no LLAMA_CLOUD_API_KEY given\)/);
  t.regex(result.out, /estimate for this run: \$0\.\d+ \(cap \$0\.0000\)/);
  t.regex(result.out, /the estimate exceeds REAL_TEST_BUDGET_USD: nothing was called/);
});
