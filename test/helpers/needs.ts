// A test that needs something outside the code (a tool, a server version, a sample file): when it is
// missing the test is skipped with the reason in its title, but under CI=true, where CI provides it,
// the test fails instead, saying what is missing.
import test, { type ExecutionContext } from 'ava';

export const inCi = () => process.env.CI === 'true';

export function testNeeding(
  title: string,
  missing: string | null | undefined,
  impl: (t: ExecutionContext) => Promise<void> | void,
): void {
  if (!missing) test(title, impl);
  else if (inCi()) test(title, (t) => t.fail(`${missing} (CI=true: CI provides this, so its absence is a failure)`));
  else test.skip(`${title} [skipped: ${missing}]`, impl);
}
