// The shared test document repository (../shared/corpus), read at test time. Where it is absent
// (a user's own clone) the tests that need it skip with a message; under CI=true (CI provides it)
// they fail.
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { testsNeeding } from './needs.ts';

// TEST_CORPUS_DIR: for a checkout whose ../shared is elsewhere (a git worktree).
export const CORPUS_DIR =
  process.env.TEST_CORPUS_DIR ?? fileURLToPath(new URL('../../../shared/corpus', import.meta.url));
export const HAS_CORPUS = existsSync(path.join(CORPUS_DIR, 'MANIFEST.md'));
export const CORPUS_MISSING = `../shared/corpus is absent (${CORPUS_DIR}; TEST_CORPUS_DIR names another place)`;

/** `test` / `test.serial` for a test that reads the corpus. */
export const corpusTest = testsNeeding(HAS_CORPUS ? null : CORPUS_MISSING);

export const corpusPath = (relative: string) => path.join(CORPUS_DIR, relative);
export const corpusFile = (relative: string) => readFileSync(corpusPath(relative));
