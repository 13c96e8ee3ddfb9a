// npm run lint: imports go one way. Entry points (cli/, server/, worker/) above tasks/, tasks/
// above lib/, lib/ above sql/; lib/ imports nothing above it, and its folders and top-level files
// import each other without cycles. Emulators are tools beside the entry points; bench/ drives the
// entry points and emulators; scripts/ use lib/; neither imports test/.
// Every source file (.ts .mts .cts .js .mjs .cjs) is parsed (Node strips the types, acorn parses):
// import and export-from declarations, side-effect imports, import() (a literal, a template literal
// read up to its first ${...}; any other expression is refused in lib/ and reported elsewhere),
// require(), paths built as new URL('...', import.meta.url), and type-only imports (from the text).
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { stripTypeScriptTypes } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse, type Node } from 'acorn';
import { simple } from 'acorn-walk';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
// What each top-level folder may import (or point at with new URL): the layers of ARCHITECTURE.md.
const ALLOWED: Record<string, string[]> = {
  bin: ['cli'],
  cli: ['server', 'worker', 'tasks', 'lib', 'emulators', 'sql', 'samples'],
  server: ['lib'],
  worker: ['tasks', 'lib'],
  tasks: ['lib'],
  lib: ['sql'],
  emulators: ['lib'],
  bench: ['cli', 'server', 'worker', 'tasks', 'lib', 'emulators', 'samples'],
  scripts: ['lib', 'sql', 'samples'],
  test: ['bin', 'cli', 'server', 'worker', 'tasks', 'lib', 'emulators', 'bench', 'scripts', 'sql', 'samples', 'ops'],
};
const SOURCE = /\.(ts|mts|cts|js|mjs|cjs)$/;
// Entry points and tasks hold no SQL: their database work is a lib/ function (slonik's sql tag, the
// value, is refused there; its types are fine).
const NO_SQL = ['bin', 'cli', 'server', 'worker', 'tasks'];
const SLONIK_SQL = /import\s*\{[^}]*\bsql\b[^}]*\}\s*from\s*['"]slonik['"]/;

function* sourceFiles(dir: string): Generator<string> {
  for (const name of readdirSync(dir)) {
    const full = path.join(dir, name);
    if (statSync(full).isDirectory()) {
      if (name !== 'node_modules') yield* sourceFiles(full);
    } else if (SOURCE.test(name)) yield full;
  }
}

type Reference = { spec: string; line: number } | { dynamic: string; line: number };

const stripTypes = (text: string, file: string) =>
  /\.(ts|mts|cts)$/.test(file) ? stripTypeScriptTypes(text, { mode: 'strip' }) : text;

/** Every module or path a source file refers to. */
export function references(text: string, file: string): Reference[] {
  const js = stripTypes(text, file);
  const ast = parse(js, {
    ecmaVersion: 'latest',
    sourceType: /\.cjs$/.test(file) ? 'script' : 'module',
    allowHashBang: true,
    locations: true,
  });
  const out: Reference[] = [];
  const line = (n: Node) => n.loc?.start.line ?? 0;
  const literal = (n: Node | null | undefined, at: Node) => {
    if (!n) return;
    const node = n as Node & { value?: unknown; quasis?: Array<{ value: { cooked: string } }>; expressions?: Node[] };
    if (node.type === 'Literal' && typeof node.value === 'string') out.push({ spec: node.value, line: line(at) });
    else if (node.type === 'TemplateLiteral' && node.quasis && node.expressions) {
      if (!node.expressions.length) out.push({ spec: node.quasis[0]!.value.cooked, line: line(at) });
      else out.push({ dynamic: `template \`${node.quasis[0]!.value.cooked}\${...}\``, line: line(at) });
    } else out.push({ dynamic: `an expression (${node.type})`, line: line(at) });
  };
  type Any = Node & Record<string, any>; // acorn's node types are loose
  simple(ast, {
    ImportDeclaration: (n) => literal((n as Any).source, n),
    ExportNamedDeclaration: (n) => literal((n as Any).source, n),
    ExportAllDeclaration: (n) => literal((n as Any).source, n),
    ImportExpression: (n) => literal((n as Any).source, n),
    CallExpression: (n) => {
      const c = n as Any;
      if (c.callee.type === 'Identifier' && c.callee.name === 'require' && c.arguments.length)
        literal(c.arguments[0], n);
    },
    NewExpression: (n) => {
      const c = n as Any;
      const base = c.arguments[1] as Any | undefined;
      const isImportMetaUrl =
        base?.type === 'MemberExpression' && base.object.type === 'MetaProperty' && base.property.name === 'url';
      if (c.callee.type === 'Identifier' && c.callee.name === 'URL' && isImportMetaUrl) literal(c.arguments[0], n);
    },
  });
  // Type-only imports (import type, import { type X }, typeof import('x')) vanish with the types,
  // but they tie layers as much as any: read them from the source text too.
  for (const m of text.matchAll(TYPE_IMPORT)) {
    out.push({ spec: (m[1] ?? m[2])!, line: text.slice(0, m.index + m[0].search(/import|export/)).split('\n').length });
  }
  return out;
}

const TYPE_IMPORT =
  /(?:^|[\s;])(?:import|export)\s[^'"`;]*?from\s*['"]([^'"]+)['"]|import\s*\(\s*['"]([^'"]+)['"]\s*\)/gm;

/** A template literal's static start, as a path prefix: `./commands/${x}.ts` -> ./commands/ */
const templatePrefix = (dynamic: string) => /^template `(\.{1,2}\/(?:[^`$]*\/)?)/.exec(dynamic)?.[1];

// The node of lib/ a file belongs to for cycle detection: its folder (lib/jobs) or, at the top of
// lib/, the file itself (lib/config.ts).
const libNode = (rel: string) => {
  const parts = rel.split(path.sep);
  return parts.length > 2 ? parts.slice(0, 2).join('/') : parts.join('/');
};

export function checkLayers(root = ROOT): string[] {
  const problems: string[] = [];
  const libEdges = new Map<string, Set<string>>();
  for (const layer of Object.keys(ALLOWED)) {
    let files: string[];
    try {
      files = [...sourceFiles(path.join(root, layer))];
    } catch {
      continue;
    }
    for (const file of files) {
      const from = path.relative(root, file);
      let refs: Reference[];
      try {
        refs = references(readFileSync(file, 'utf8'), file);
      } catch (error) {
        problems.push(`${from}: cannot be parsed to check its imports (${(error as Error).message})`);
        continue;
      }
      if (NO_SQL.includes(layer) && SLONIK_SQL.test(stripTypes(readFileSync(file, 'utf8'), file)))
        problems.push(
          `${from}: imports slonik's sql tag: ${layer}/ holds no SQL (move the query into a lib/ function)`,
        );
      for (const ref of refs) {
        let spec: string;
        if ('dynamic' in ref) {
          const prefix = templatePrefix(ref.dynamic);
          if (layer === 'lib' || (!prefix && layer !== 'test')) {
            problems.push(
              `${from}:${ref.line} import() of ${ref.dynamic}: ${layer === 'lib' ? 'lib/ imports only modules it names' : 'name the module (or a folder prefix) so its layer can be checked'}`,
            );
            continue;
          }
          if (!prefix) continue;
          spec = prefix;
        } else spec = ref.spec;
        if (!spec.startsWith('.')) continue; // a package or node: builtin
        const target = path.relative(root, path.resolve(path.dirname(file), spec));
        if (target === '' || target.startsWith('..')) continue; // the repository itself, or outside it (../shared)
        const [targetLayer] = target.split(path.sep);
        if (targetLayer !== layer && !ALLOWED[layer]!.includes(targetLayer!))
          problems.push(`${from}:${ref.line} imports ${target}: ${layer}/ may not import ${targetLayer}/`);
        if (layer === 'lib' && targetLayer === 'lib') {
          const a = libNode(from);
          const b = libNode(target);
          if (a !== b && b !== 'lib') {
            if (!libEdges.has(a)) libEdges.set(a, new Set());
            libEdges.get(a)!.add(b);
          }
        }
      }
    }
  }
  // A cycle inside lib/: a folder or top-level file that reaches itself.
  const reaches = (start: string, goal: string, seen = new Set<string>()): string[] | null => {
    for (const next of libEdges.get(start) ?? []) {
      if (next === goal) return [start, next];
      if (seen.has(next)) continue;
      seen.add(next);
      const rest = reaches(next, goal, seen);
      if (rest) return [start, ...rest];
    }
    return null;
  };
  const reported = new Set<string>();
  for (const node of [...libEdges.keys()].sort()) {
    const cycle = reaches(node, node);
    const key = cycle && [...new Set(cycle)].sort().join(' ');
    if (cycle && !reported.has(key!)) {
      reported.add(key!);
      problems.push(`import cycle in lib/: ${cycle.join(' -> ')}`);
    }
  }
  return problems;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const problems = checkLayers();
  for (const p of problems) console.error(p);
  if (problems.length) {
    console.error(`\n${problems.length} import(s) against the layers (see ARCHITECTURE.md)`);
    process.exit(1);
  }
  console.log('imports follow the layers');
}
