// A test that needs something outside the code (a tool, a server version, the shared corpus): when
// it is missing the test is skipped with the reason in its title, but under CI=true, where CI
// provides it, the test fails instead, saying what is missing.
import test, { type ExecutionContext } from 'ava';

export const inCi = () => process.env.CI === 'true';

type Impl = (t: ExecutionContext) => Promise<void> | void;

const register =
  (run: (title: string, impl: Impl) => void) => (title: string, missing: string | null | undefined, impl: Impl) => {
    if (!missing) run(title, impl);
    else if (inCi()) run(title, (t) => t.fail(`${missing} (CI=true: CI provides this, so its absence is a failure)`));
    else test.skip(`${title} [skipped: ${missing}]`, impl);
  };

export const testNeeding = Object.assign(
  register((title, impl) => test(title, impl)),
  { serial: register((title, impl) => test.serial(title, impl)) },
);

/** `test` and `test.serial` for tests that all need the same thing. */
export function testsNeeding(missing: string | null | undefined) {
  const plain = register((title, impl) => test(title, impl));
  const serial = register((title, impl) => test.serial(title, impl));
  return Object.assign((title: string, impl: Impl) => plain(title, missing, impl), {
    serial: (title: string, impl: Impl) => serial(title, missing, impl),
  });
}
