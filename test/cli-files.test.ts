// tvdb ingest reads the files the user meant: symbolic links are skipped (and listed) unless
// --follow-symlinks, which then detects loops by device and inode; FIFOs, sockets and devices are
// never opened; names are printed with control characters escaped. Configuration errors never
// print a secret.
import test from 'ava';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createTestDatabase, type TestDatabase } from './helpers/database.ts';
import { cleanEnv, runTvdb } from './helpers/cli.ts';

let db: TestDatabase;
let root: string;
test.before(async () => {
  db = await createTestDatabase();
  root = mkdtempSync(path.join(tmpdir(), 'tvdb-files-'));
  mkdirSync(path.join(root, 'docs'));
  mkdirSync(path.join(root, 'private'));
  writeFileSync(path.join(root, 'docs', 'a.md'), '# A\n\nA document the user meant.');
  writeFileSync(path.join(root, 'private', 'id_ed25519'), '-----BEGIN OPENSSH PRIVATE KEY-----\nsecret\n');
  symlinkSync('../private/id_ed25519', path.join(root, 'docs', 'key'));
  symlinkSync('.', path.join(root, 'docs', 'loop'));
  symlinkSync('a.md', path.join(root, 'docs', 'same.md'));
  execFileSync('mkfifo', [path.join(root, 'docs', 'pipe')]);
  writeFileSync(path.join(root, 'docs', 'evil\u001b[2Jname.md'), '# Evil\n\nA name with a terminal escape.');
});
test.after.always(async () => {
  rmSync(root, { recursive: true, force: true });
  await db?.drop();
});

type Json = { results: Array<{ ok: boolean; fileName: string }>; skipped: Array<{ path: string; reason: string }> };

test('symbolic links are skipped and listed; the FIFO is never opened; names print escaped', async (t) => {
  const result = await runTvdb(['ingest', path.join(root, 'docs'), '--no-wait'], cleanEnv({ DATABASE_URL: db.url }), {
    timeoutMs: 60_000,
  });
  t.is(result.signal, null, 'did not hang on the FIFO');
  t.regex(result.stdout, /skipped  .*docs\/key: a symbolic link, not followed \(use --follow-symlinks\)/);
  t.regex(result.stdout, /skipped  .*docs\/loop: a symbolic link/);
  t.regex(result.stdout, /skipped  .*docs\/pipe: a FIFO, not a regular file/);
  t.regex(result.stdout, /queued   .*docs\/a\.md/);
  t.true(result.stdout.includes('evil\\x1b[2Jname.md'), 'the escape is printed escaped');
  t.false(result.stdout.includes('\u001b'), 'no raw control character reaches the terminal');
  t.false(result.stdout.includes('id_ed25519'));
  t.is(result.code, 0, result.stderr);
});

test('--follow-symlinks follows them once: a loop is detected by device and inode, a file twice is one file', async (t) => {
  const result = await runTvdb(
    ['ingest', path.join(root, 'docs'), '--no-wait', '--follow-symlinks', '--json'],
    cleanEnv({ DATABASE_URL: db.url }),
    { timeoutMs: 60_000 },
  );
  const out = JSON.parse(result.stdout) as Json;
  const files = out.results.map((r) => path.relative(root, r.fileName)).sort();
  t.deepEqual(files, ['docs/a.md', 'docs/evil\u001b[2Jname.md', 'docs/key'], 'each file once, the loop not followed');
  const reasons = Object.fromEntries(out.skipped.map((s) => [path.relative(root, s.path), s.reason]));
  t.regex(reasons['docs/loop']!, /a loop: the folder .*docs again/);
  t.regex(reasons['docs/same.md']!, /the same file as .*docs\/a\.md/);
  t.regex(reasons['docs/pipe']!, /FIFO/);
});

test('configuration errors name the variable and the rule, never a secret value', async (t) => {
  const cases: Array<[Record<string, string>, RegExp, string]> = [
    [
      { TVDB_API_TOKEN: 'short-secret' },
      /TVDB_API_TOKEN: at least 16 characters \(value not shown: it is secret\)/,
      'short-secret',
    ],
    [
      { DATABASE_URL: 'postgres://user:hunter2-password@host:notaport/db' },
      /DATABASE_URL: a postgres:\/\/ connection URL \(value not shown/,
      'hunter2-password',
    ],
    [
      { LLAMAPARSE_WEBHOOK_SECRET: ' , ,' },
      /LLAMAPARSE_WEBHOOK_SECRET: a comma-separated list of at least one secret/,
      ' , ,',
    ],
    [{ EMBEDDINGS_API_KEY: '', TVDB_MAX_FILE_BYTES: 'lots' }, /TVDB_MAX_FILE_BYTES: .*got "lots"/, '\u0000'],
  ];
  for (const [env, message, secret] of cases) {
    const result = await runTvdb(['status'], cleanEnv(env), { timeoutMs: 30_000 });
    t.is(result.code, 78, result.stderr);
    t.regex(result.stderr, message);
    t.false(result.stderr.includes(secret) && secret !== '\u0000', `${Object.keys(env)[0]} value not echoed`);
  }
});
