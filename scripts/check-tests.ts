// npm run lint: every test can fail. A test body (the function given to test(), test.serial(),
// corpusTest(), testNeeding(), ... with a title) must assert: call an assertion of its `t` (t.pass()
// and t.log() are not), hand `t` to a helper, or run fast-check's fc.assert / node:assert. A body
// that only logs and passes is reported with its file, line and title.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { stripTypeScriptTypes } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse, type Node } from 'acorn';
import { ancestor, simple } from 'acorn-walk';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const ASSERTIONS = new Set([
  'is', 'not', 'deepEqual', 'notDeepEqual', 'like', 'true', 'false', 'truthy', 'falsy', 'regex',
  'notRegex', 'throws', 'throwsAsync', 'notThrows', 'notThrowsAsync', 'snapshot', 'fail', 'assert', 'try',
]); // prettier-ignore

type Any = Node & Record<string, any>; // acorn's node types are loose

function* testFiles(dir: string): Generator<string> {
  for (const name of readdirSync(dir)) {
    const full = path.join(dir, name);
    if (statSync(full).isDirectory()) yield* testFiles(full);
    else if (/\.test\.(ts|mts|js|mjs)$/.test(name)) yield full;
  }
}

/** Whether a test body asserts (see the file's head). */
function asserts(fn: Any): boolean {
  const t = fn.params[0]?.type === 'Identifier' ? (fn.params[0].name as string) : null;
  if (!t) return false;
  let found = false;
  simple(fn.body, {
    CallExpression: (n) => {
      const c = n as Any;
      const callee = c.callee as Any;
      if (callee.type === 'MemberExpression' && callee.object.type === 'Identifier') {
        if (callee.object.name === t && ASSERTIONS.has(callee.property.name)) found = true;
        if (callee.object.name === 'fc' && callee.property.name === 'assert') found = true;
        if (callee.object.name === 'assert') found = true;
      }
      if (callee.type === 'Identifier' && callee.name === 'assert') found = true;
      if (c.arguments.some((a: Any) => a.type === 'Identifier' && a.name === t)) found = true; // a helper asserts
    },
  });
  return found;
}

export function checkTests(dir = path.join(ROOT, 'test')): string[] {
  const problems: string[] = [];
  for (const file of testFiles(dir)) {
    const text = readFileSync(file, 'utf8');
    const js = /\.m?ts$/.test(file) ? stripTypeScriptTypes(text, { mode: 'strip' }) : text;
    const ast = parse(js, { ecmaVersion: 'latest', sourceType: 'module', locations: true });
    ancestor(ast, {
      CallExpression: (n) => {
        const c = n as Any;
        const title = c.arguments[0] as Any | undefined;
        const isTitle =
          title && (title.type === 'TemplateLiteral' || (title.type === 'Literal' && typeof title.value === 'string'));
        const fn = (c.arguments as Any[]).find(
          (a) => a.type === 'ArrowFunctionExpression' || a.type === 'FunctionExpression',
        );
        if (!isTitle || !fn || fn.params.length !== 1) return;
        const callee = c.callee as Any;
        const name: string =
          callee.type === 'Identifier'
            ? callee.name
            : callee.type === 'MemberExpression'
              ? `${callee.object.name ?? '?'}.${callee.property.name}`
              : '';
        if (!/test|Test|needs|corpus/.test(name) || /\.skip$|\.todo$/.test(name)) return;
        if (asserts(fn)) return;
        const shown = title.type === 'Literal' ? title.value : js.slice(title.start, title.end);
        problems.push(
          `${path.relative(ROOT, file)}:${c.loc?.start.line} "${shown}": the test body asserts nothing (t.pass() alone cannot fail)`,
        );
      },
    });
  }
  return problems;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const problems = checkTests();
  for (const p of problems) console.error(p);
  if (problems.length) {
    console.error(`\n${problems.length} test(s) that cannot fail`);
    process.exit(1);
  }
  console.log('every test asserts');
}
