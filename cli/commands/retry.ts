import { parseCommandArgs, UsageError, type Command } from '../command.ts';
import { withRuntime } from '../runtime.ts';
import { retryJob, failedJobIds, type RetryOutcome } from '../../lib/jobs/retryJob.ts';
import { attemptsFor } from '../../lib/jobs/attempts.ts';

const STAGE_STATE: Record<string, string> = {
  parse: 'failed_parse',
  chunk: 'failed_chunking',
  embed: 'failed_embedding',
};

const command: Command = {
  usage: `Usage: tvdb retry <job-id>... | --failed [--stage parse|chunk|embed] [--json]

Moves each failed job back to the state its stage starts from (failed_parse -> parse_queued,
failed_chunking -> parsed, failed_embedding -> embedding_queued) and queues the stage again.
Workers pick the jobs up ("tvdb worker", "tvdb serve", or a running "tvdb ingest").`,
  async run(argv) {
    const { values, positionals } = parseCommandArgs(argv, {
      options: { failed: { type: 'boolean' }, stage: { type: 'string' }, json: { type: 'boolean' } },
      allowPositionals: true,
    });
    if (!values.failed && !positionals.length) throw new UsageError('name job ids, or --failed');
    if (values.stage && !STAGE_STATE[values.stage])
      throw new UsageError(`--stage takes parse, chunk or embed, not "${values.stage}"`);
    return withRuntime({ poolSize: 2 }, async ({ pool, config }) => {
      const ids = values.failed
        ? await failedJobIds(pool, values.stage ? STAGE_STATE[values.stage] : undefined)
        : positionals;
      const outcomes: RetryOutcome[] = [];
      for (const id of ids) outcomes.push(await retryJob(pool, id, attemptsFor(config)));
      if (values.json) process.stdout.write(JSON.stringify(outcomes) + '\n');
      else {
        for (const o of outcomes)
          process.stdout.write(
            'skipped' in o ? `skipped ${o.jobId}: ${o.skipped}\n` : `retrying ${o.jobId}: ${o.from} -> ${o.to}\n`,
          );
        if (!outcomes.length) process.stdout.write('no failed jobs\n');
      }
      return outcomes.some((o) => 'skipped' in o) ? 1 : 0;
    });
  },
};
export default command;
