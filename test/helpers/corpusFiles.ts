// Where the shared test document repository (../shared/corpus) is, and its files: no ava here, so
// scripts outside the AVA CLI (npm run test:real) can read the corpus too. Tests use ./corpus.ts.
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

// TEST_CORPUS_DIR: for a checkout whose ../shared is elsewhere (a git worktree).
export const CORPUS_DIR =
  process.env.TEST_CORPUS_DIR ?? fileURLToPath(new URL('../../../shared/corpus', import.meta.url));
export const HAS_CORPUS = existsSync(path.join(CORPUS_DIR, 'MANIFEST.md'));
export const CORPUS_MISSING = `../shared/corpus is absent (${CORPUS_DIR}; TEST_CORPUS_DIR names another place)`;

export const corpusPath = (relative: string) => path.join(CORPUS_DIR, relative);
export const corpusFile = (relative: string) => readFileSync(corpusPath(relative));
