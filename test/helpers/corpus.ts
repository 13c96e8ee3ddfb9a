// The shared test document repository (../shared/corpus), read at test time. Where it is absent
// (a user's own clone) the tests that need it skip with a message; under CI=true (CI provides it)
// they fail.
import { testsNeeding } from './needs.ts';
import { HAS_CORPUS, CORPUS_MISSING } from './corpusFiles.ts';

export { CORPUS_DIR, HAS_CORPUS, CORPUS_MISSING, corpusPath, corpusFile } from './corpusFiles.ts';

/** `test` / `test.serial` for a test that reads the corpus. */
export const corpusTest = testsNeeding(HAS_CORPUS ? null : CORPUS_MISSING);
