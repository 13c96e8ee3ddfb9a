// The files named on a command line: files as given, folders walked recursively (sorted, hidden
// entries skipped). Missing paths are reported, not fatal, so the rest still go in.
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';

export type FileEntry = { path: string; size: number };

export function expandPaths(paths: string[]): { files: FileEntry[]; missing: string[] } {
  const files: FileEntry[] = [];
  const missing: string[] = [];
  const visit = (p: string) => {
    let stat;
    try {
      stat = statSync(p);
    } catch {
      missing.push(p);
      return;
    }
    if (stat.isDirectory()) {
      for (const name of readdirSync(p).sort()) if (!name.startsWith('.')) visit(path.join(p, name));
    } else if (stat.isFile()) {
      files.push({ path: p, size: stat.size });
    }
  };
  for (const p of paths) visit(p);
  return { files, missing };
}
