// npm run lint: imports go one way. Entry points (cli/, server/, worker/) above tasks/, tasks/
// above lib/; lib/ imports nothing above it, and its folders import each other without cycles.
// Emulators are tools beside the entry points; bench/ and scripts/ never import test/.
// Reads every import and export-from (and import('...') with a literal) of the project's files.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const ALLOWED: Record<string, string[]> = {
  bin: ['cli'],
  cli: ['server', 'worker', 'tasks', 'lib', 'emulators'],
  server: ['lib'],
  worker: ['tasks', 'lib'],
  tasks: ['lib'],
  lib: [],
  emulators: ['lib'],
  bench: ['cli', 'server', 'worker', 'tasks', 'lib', 'emulators'],
  scripts: ['lib'],
  test: ['bin', 'cli', 'server', 'worker', 'tasks', 'lib', 'emulators', 'bench', 'scripts'],
};

function* sourceFiles(dir: string): Generator<string> {
  for (const name of readdirSync(dir)) {
    const full = path.join(dir, name);
    if (statSync(full).isDirectory()) yield* sourceFiles(full);
    else if (/\.(ts|js|mjs)$/.test(name)) yield full;
  }
}

const IMPORT =
  /(?:^|[\s;])(?:import|export)\s[^'"`;]*?from\s*['"]([^'"]+)['"]|import\s*\(\s*['"]([^'"]+)['"]\s*\)|^\s*import\s*['"]([^'"]+)['"]/gm;

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
      const text = readFileSync(file, 'utf8');
      for (const match of text.matchAll(IMPORT)) {
        const spec = match[1] ?? match[2] ?? match[3]!;
        if (!spec.startsWith('.')) continue;
        const target = path.relative(root, path.resolve(path.dirname(file), spec));
        const [targetLayer] = target.split(path.sep);
        const from = path.relative(root, file);
        if (targetLayer !== layer && !ALLOWED[layer]!.includes(targetLayer!))
          problems.push(`${from} imports ${target}: ${layer}/ may not import ${targetLayer}/`);
        if (layer === 'lib' && targetLayer === 'lib') {
          const a = from.split(path.sep).slice(0, 2).join('/');
          const b = target.split(path.sep).slice(0, 2).join('/');
          if (a !== b && !a.endsWith('.ts') && !b.endsWith('.ts')) {
            if (!libEdges.has(a)) libEdges.set(a, new Set());
            libEdges.get(a)!.add(b);
          }
        }
      }
    }
  }
  // A cycle between lib/ folders: a folder that reaches itself.
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
  for (const folder of [...libEdges.keys()].sort()) {
    const cycle = reaches(folder, folder);
    const key = cycle && [...new Set(cycle)].sort().join(' ');
    if (cycle && !reported.has(key!)) {
      reported.add(key!);
      problems.push(`import cycle between lib folders: ${cycle.join(' -> ')}`);
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
