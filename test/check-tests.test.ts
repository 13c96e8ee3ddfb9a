// scripts/check-tests.ts: a test body that cannot fail is reported; each way of asserting is accepted.
import test from 'ava';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { checkTests } from '../scripts/check-tests.ts';

function check(source: string): string[] {
  const dir = mkdtempSync(path.join(tmpdir(), 'tvdb-tests-'));
  try {
    writeFileSync(path.join(dir, 'x.test.ts'), source);
    return checkTests(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const CANNOT_FAIL = [
  "test('corpus', (t) => {\n  t.log('absent');\n  t.pass();\n});\n",
  "test.serial('nothing', async (t) => {\n  await Promise.resolve();\n});\n",
  'corpusTest(`templated`, (t: ExecutionContext) => {\n  if (Date.now()) return;\n  t.pass();\n});\n',
  "testNeeding('needs', null, async (t) => {\n  t.log('x');\n});\n",
];
for (const [i, source] of CANNOT_FAIL.entries())
  test(`reported: a body that cannot fail (${i + 1})`, (t) => {
    const problems = check(source);
    t.is(problems.length, 1, problems.join('\n'));
    t.regex(problems[0]!, /x\.test\.ts:1 ".+": the test body asserts nothing/);
  });

const ASSERTS = [
  "test('is', (t) => {\n  t.is(1, 1);\n});\n",
  "test('nested', async (t) => {\n  await Promise.all([1].map(async () => t.true(true)));\n});\n",
  "test('helper', async (t) => {\n  await expectAll(t, []);\n});\n",
  "test('property', (t) => {\n  fc.assert(fc.property(fc.nat(), (n) => n >= 0));\n  t.pass();\n});\n",
  "test('throws', async (t) => {\n  await t.throwsAsync(Promise.reject(new Error('x')));\n});\n",
  "test.before(async () => {});\ntest.skip('later', (t) => {\n  t.pass();\n});\n",
];
test('accepted: each way of asserting (and hooks, skipped tests)', (t) => {
  for (const source of ASSERTS) t.deepEqual(check(source), [], source);
});

test('every test of the repository asserts', (t) => {
  t.deepEqual(checkTests(), []);
});
