import type { Command } from '../command.ts';
import { parseCommandArgs, UsageError } from '../command.ts';
import { withRuntime } from '../runtime.ts';
import { ingestFlow, exitCodeOf } from '../ingestFlow.ts';

const command: Command = {
  usage: `Usage: tvdb ingest <file|folder>... [--no-wait] [--correlation-id ID] [--json]

Stores each document (the same bytes are stored once), creates its job and queues it. The type
comes from the content, not the file name; empty files, files over TVDB_MAX_FILE_BYTES and types
the configured parser cannot read are refused with the reason, and the other files still go in.

By default the workers run in this process and the command follows every job until it completes
or fails (a progress bar on a terminal, a line per change otherwise), then prints a summary.
--no-wait only submits, for when "tvdb worker" processes run elsewhere.

Exit code: 0 when every file was accepted and every job completed; 1 otherwise.`,
  async run(argv) {
    const { values, positionals } = parseCommandArgs(argv, {
      options: { 'no-wait': { type: 'boolean' }, 'correlation-id': { type: 'string' }, json: { type: 'boolean' } },
      allowPositionals: true,
    });
    if (!positionals.length) throw new UsageError('name at least one file or folder');
    return withRuntime({}, async (rt) => {
      const flow = await ingestFlow(rt, positionals, {
        wait: !values['no-wait'],
        correlationId: values['correlation-id'],
        json: Boolean(values.json),
      });
      if (values.json)
        process.stdout.write(JSON.stringify({ results: flow.results, jobs: flow.jobs, seconds: flow.seconds }) + '\n');
      return exitCodeOf(flow);
    });
  },
};
export default command;
