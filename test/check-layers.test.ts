// scripts/check-layers.ts on a fixture tree: a clean tree passes, and each kind of violation (every
// import form, cycles through lib/'s top-level files, non-literal import() in lib/, SQL in an entry
// point) is reported by file and line.
import test from 'ava';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { checkLayers } from '../scripts/check-layers.ts';

function tree(files: Record<string, string>): string {
  const root = mkdtempSync(path.join(tmpdir(), 'tvdb-layers-'));
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(root, name)), { recursive: true });
    writeFileSync(path.join(root, name), text);
  }
  return root;
}

// A tree that follows the rules, every form included.
const CLEAN: Record<string, string> = {
  'lib/config.ts': "import { STAGES } from './jobs/stages.ts';\nexport const c = STAGES;\n",
  'lib/jobs/stages.ts': 'export const STAGES = [];\n',
  'lib/db/migrate.ts':
    "import type { Pool } from 'pg';\nexport const dir = new URL('../../sql/migrations', import.meta.url);\nconst lazy = () => import('./admin.ts');\n",
  'lib/db/admin.ts': 'export const a = 1;\n',
  'cli/main.ts':
    "import { c } from '../lib/config.ts';\nconst load = (n: string) => import(`./commands/${n}.ts`);\nexport { c, load };\n",
  'cli/commands/x.ts': "import type { DatabasePool } from 'slonik';\nexport default 1;\n",
  'server/app.ts': "export * from '../lib/db/admin.ts';\nimport '../lib/jobs/stages.ts';\n",
};

const withClean = (extra: Record<string, string>) => ({ ...CLEAN, ...extra });

test('a tree that follows the layers passes, every import form included', (t) => {
  const root = tree(CLEAN);
  try {
    t.deepEqual(checkLayers(root), []);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

const VIOLATIONS: Array<[string, Record<string, string>, RegExp]> = [
  [
    'a static import upward',
    { 'lib/a.ts': "import { x } from '../server/app.ts';\n" },
    /^lib\/a\.ts:1 imports server\/app\.ts: lib\/ may not import server\//,
  ],
  [
    'a type-only import upward',
    { 'lib/a.ts': "\n\nimport type { X } from '../cli/main.ts';\n" },
    /^lib\/a\.ts:3 imports cli\/main\.ts/,
  ],
  [
    'export ... from upward',
    { 'tasks/t.ts': "export { x } from '../worker/w.ts';\n" },
    /^tasks\/t\.ts:1 imports worker\/w\.ts: tasks\/ may not import worker\//,
  ],
  ['a side-effect import', { 'server/s.ts': "import '../cli/main.ts';\n" }, /^server\/s\.ts:1 imports cli\/main\.ts/],
  [
    'a second import on one line',
    { 'server/s.ts': "import '../lib/db/admin.ts'; import { m } from '../cli/main.ts';\n" },
    /^server\/s\.ts:1 imports cli\/main\.ts/,
  ],
  [
    'import() of a literal',
    { 'tasks/t.ts': "const m = await import('../cli/main.ts');\n" },
    /^tasks\/t\.ts:1 imports cli\/main\.ts/,
  ],
  [
    'import() of a template literal without expressions',
    { 'tasks/t.ts': 'const m = await import(`../server/app.ts`);\n' },
    /^tasks\/t\.ts:1 imports server\/app\.ts/,
  ],
  [
    'import() of a template literal whose folder is another layer',
    { 'tasks/t.ts': 'const m = (n: string) => import(`../cli/commands/${n}.ts`);\n' },
    /^tasks\/t\.ts:1 imports cli\/commands: tasks\/ may not import cli\//,
  ],
  [
    'import() of a variable in lib/',
    { 'lib/a.ts': "const name = './b.ts';\nawait import(name);\n" },
    /^lib\/a\.ts:2 import\(\) of an expression \(Identifier\): lib\/ imports only modules it names/,
  ],
  [
    'import() of a template literal in lib/',
    { 'lib/a.ts': 'const f = (n: string) => import(`./${n}.ts`);\n' },
    /^lib\/a\.ts:1 import\(\) of template `\.\/\$\{\.\.\.\}`: lib\/ imports only/,
  ],
  [
    'import() of a variable outside lib/',
    { 'worker/w.ts': 'const f = (n: string) => import(n);\n' },
    /^worker\/w\.ts:1 import\(\) of an expression/,
  ],
  ['an .mts file', { 'lib/a.mts': "import { x } from '../worker/w.ts';\n" }, /^lib\/a\.mts:1 imports worker\/w\.ts/],
  ['a .js file', { 'lib/a.js': "import { x } from '../cli/main.ts';\n" }, /^lib\/a\.js:1 imports cli\/main\.ts/],
  ['require()', { 'lib/a.cts': "const x = require('../server/app.ts');\n" }, /^lib\/a\.cts:1 imports server\/app\.ts/],
  [
    'new URL(..., import.meta.url) into another layer',
    { 'lib/a.ts': "const u = new URL('../../cli/main.ts', import.meta.url);\n".replace('../../', '../') },
    /^lib\/a\.ts:1 imports cli\/main\.ts/,
  ],
  [
    'new URL(..., import.meta.url) up two folders',
    {
      'lib/db/a.ts':
        "const u = new URL('../..', import.meta.url);\nconst v = new URL('../../tasks', import.meta.url);\n",
    },
    /^lib\/db\/a\.ts:2 imports tasks: lib\/ may not import tasks\//,
  ],
  [
    'a cycle between lib/ folders',
    { 'lib/jobs/a.ts': "import '../db/admin.ts';\n", 'lib/db/admin.ts': "import '../jobs/stages.ts';\n" },
    /^import cycle in lib\/: lib\/db -> lib\/jobs -> lib\/db$/,
  ],
  [
    'a cycle through a top-level lib/ file',
    { 'lib/jobs/attempts.ts': "import type { Config } from '../config.ts';\n" },
    /^import cycle in lib\/: lib\/config\.ts -> lib\/jobs -> lib\/config\.ts$/,
  ],
  [
    'SQL in a route',
    { 'server/r.ts': "import { sql, type DatabasePool } from 'slonik';\n" },
    /^server\/r\.ts: imports slonik's sql tag: server\/ holds no SQL/,
  ],
  [
    'SQL in a command',
    { 'cli/commands/y.ts': "import {\n  sql,\n} from 'slonik';\n" },
    /^cli\/commands\/y\.ts: imports slonik's sql tag: cli\/ holds no SQL/,
  ],
];

for (const [what, files, expected] of VIOLATIONS) {
  test(`reported: ${what}`, (t) => {
    const root = tree(withClean(files));
    try {
      const problems = checkLayers(root);
      t.true(
        problems.some((p) => expected.test(p)),
        `expected ${expected} among:\n${problems.join('\n') || '(no problems)'}`,
      );
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
}

test('the repository itself follows the layers', (t) => {
  t.deepEqual(checkLayers(), []);
});
