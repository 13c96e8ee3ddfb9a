// The shared test document repository (../shared/corpus), read at test time. Where it is absent
// (a user's own clone) the tests that need it skip with a message.
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

// TEST_CORPUS_DIR: for a checkout whose ../shared is elsewhere (a git worktree).
export const CORPUS_DIR =
  process.env.TEST_CORPUS_DIR ?? fileURLToPath(new URL('../../../shared/corpus', import.meta.url));
export const HAS_CORPUS = existsSync(path.join(CORPUS_DIR, 'MANIFEST.md'));
export const CORPUS_MISSING = `../shared/corpus is absent (${CORPUS_DIR}): corpus tests skipped`;

export const corpusPath = (relative: string) => path.join(CORPUS_DIR, relative);
export const corpusFile = (relative: string) => readFileSync(corpusPath(relative));
