// The files named on a command line: files as given, folders walked recursively (sorted, hidden
// entries skipped). Symbolic links are not followed unless asked (--follow-symlinks; then a folder
// reached twice, by device and inode, is a loop and is skipped, and a file reached twice is taken
// once). FIFOs, sockets and devices are never opened. Missing paths and skipped entries are
// reported, not fatal, so the rest still go in.
import { lstatSync, readdirSync, statSync, type Stats } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { constants } from 'node:fs';
import path from 'node:path';

export type FileEntry = { path: string; size: number };
export type Skipped = { path: string; reason: string };
export type WalkOptions = { followSymlinks?: boolean };

export function expandPaths(
  paths: string[],
  options: WalkOptions = {},
): { files: FileEntry[]; missing: string[]; skipped: Skipped[] } {
  const files: FileEntry[] = [];
  const missing: string[] = [];
  const skipped: Skipped[] = [];
  const seen = new Map<string, string>(); // device:inode -> the path it was first reached by
  const visit = (p: string) => {
    let stat: Stats;
    try {
      stat = lstatSync(p);
      if (stat.isSymbolicLink()) {
        if (!options.followSymlinks)
          return void skipped.push({ path: p, reason: 'a symbolic link, not followed (use --follow-symlinks)' });
        stat = statSync(p);
      }
    } catch {
      return void missing.push(p);
    }
    const id = `${stat.dev}:${stat.ino}`;
    const first = seen.get(id);
    if (first !== undefined)
      return void skipped.push({
        path: p,
        reason: stat.isDirectory() ? `a loop: the folder ${first} again` : `the same file as ${first}`,
      });
    seen.set(id, p);
    if (stat.isDirectory()) {
      for (const name of readdirSync(p).sort()) if (!name.startsWith('.')) visit(path.join(p, name));
    } else if (stat.isFile()) {
      files.push({ path: p, size: stat.size });
    } else {
      skipped.push({ path: p, reason: `${kindOf(stat)}, not a regular file` });
    }
  };
  for (const p of paths) visit(p);
  return { files, missing, skipped };
}

function kindOf(stat: Stats): string {
  if (stat.isFIFO()) return 'a FIFO';
  if (stat.isSocket()) return 'a socket';
  if (stat.isCharacterDevice() || stat.isBlockDevice()) return 'a device';
  return 'not a file';
}

/**
 * Opens a file the walk listed, as that file: without following a link the walk did not follow
 * (O_NOFOLLOW), without blocking should it have become a FIFO since (O_NONBLOCK), and checks the
 * opened handle is a regular file. Returns the handle and its size, or why not.
 */
export async function openListedFile(
  file: string,
  options: WalkOptions = {},
): Promise<{ handle: FileHandle; size: number } | { reason: string }> {
  const flags = constants.O_RDONLY | constants.O_NONBLOCK | (options.followSymlinks ? 0 : constants.O_NOFOLLOW);
  let handle: FileHandle;
  try {
    handle = await open(file, flags);
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (code === 'ELOOP') return { reason: 'a symbolic link, not followed (use --follow-symlinks)' };
    if (code === 'ENOENT') return { reason: 'no such file or folder' };
    return { reason: `cannot be read (${code ?? (error as Error).message})` };
  }
  const stat = await handle.stat();
  if (!stat.isFile()) {
    await handle.close();
    return { reason: `${kindOf(stat)}, not a regular file` };
  }
  return { handle, size: stat.size };
}
