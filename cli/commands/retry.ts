import { parseCommandArgs, UsageError, type Command } from '../command.ts';
import { withRuntime } from '../runtime.ts';
import { retryJob, failedJobIds, type RetryOutcome } from '../../lib/jobs/retryJob.ts';
import { attemptsFor } from '../../lib/jobs/attempts.ts';
import { STAGES } from '../../lib/jobs/stages.ts';

const STAGE_NAMES = STAGES.map((s) => s.stage).join('|');
const retryMoves = STAGES.map((s) => `${s.failed} -> ${s.retryTo}`).join(', ');

const command: Command = {
  usage: `Usage: tvdb retry <job-id>... | --failed [--stage ${STAGE_NAMES}] [--json]

Moves each failed job back to the state its stage starts from (${retryMoves})
and queues the stage again.
Workers pick the jobs up ("tvdb worker", "tvdb serve", or a running "tvdb ingest").`,
  async run(argv) {
    const { values, positionals } = parseCommandArgs(argv, {
      options: { failed: { type: 'boolean' }, stage: { type: 'string' }, json: { type: 'boolean' } },
      allowPositionals: true,
    });
    if (!values.failed && !positionals.length) throw new UsageError('name job ids, or --failed');
    const stage = values.stage ? STAGES.find((s) => s.stage === values.stage) : undefined;
    if (values.stage && !stage)
      throw new UsageError(`--stage takes ${STAGE_NAMES.replace(/\|/g, ', ')}, not "${values.stage}"`);
    return withRuntime({ poolSize: 2 }, async ({ pool, config }) => {
      const ids = values.failed ? await failedJobIds(pool, stage?.failed) : positionals;
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
