import type { Command } from '../command.ts';
import { parseCommandArgs, UsageError } from '../command.ts';
import { withRuntime } from '../runtime.ts';
import { table, duration, printable } from '../../lib/format.ts';
import { getPipelineHealth } from '../../lib/status/pipelineHealth.ts';
import { getJobWithTimeline } from '../../lib/status/jobTimeline.ts';
import { formatUsd } from '../../lib/costs/pricing.ts';
import { loadSnapshot } from '../../lib/status/snapshot.ts';
import { statusText } from '../../lib/status/text.ts';
import { setTimeout as sleep } from 'node:timers/promises';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

const command: Command = {
  usage: `Usage: tvdb status [job-id] [--json]
       tvdb status --watch [--interval <seconds>] [--json]

Without a job id: one line per state with the number of jobs in it, the age of the oldest,
and how many jobs entered it in the last 5 and 60 minutes (the pipeline_health view).
With a job id: that job's state, error and timeline (the job_timeline view).
--watch: a live view of the whole pipeline (states, throughput, time in state, stage failures,
queue, budgets, costs, breakers, stuck jobs, alerts), redrawn every --interval seconds
(default 2) until Ctrl-C. With --json, one JSON snapshot per line instead.`,
  async run(argv) {
    const { values, positionals } = parseCommandArgs(argv, {
      options: { json: { type: 'boolean' }, watch: { type: 'boolean' }, interval: { type: 'string' } },
      allowPositionals: true,
    });
    if (positionals.length > 1) throw new UsageError('give at most one job id');
    const jobId = positionals[0];
    if (jobId && !UUID.test(jobId)) throw new UsageError(`"${jobId}" is not a job id (a UUID)`);
    if (values.interval !== undefined && !values.watch) throw new UsageError('--interval goes with --watch');
    if (values.watch) {
      if (jobId) throw new UsageError('--watch shows the whole pipeline: give no job id');
      const intervalS = Number(values.interval ?? 2);
      if (!Number.isFinite(intervalS) || intervalS < 0.5 || intervalS > 3600)
        throw new UsageError(`--interval must be a number of seconds from 0.5 to 3600, not "${values.interval}"`);
      return watch(intervalS, values.json === true);
    }
    return withRuntime({ poolSize: 2 }, async ({ pool }) => {
      if (!jobId) {
        const rows = await getPipelineHealth(pool);
        if (values.json) process.stdout.write(JSON.stringify(rows) + '\n');
        else
          process.stdout.write(
            table(
              ['state', 'jobs', 'oldest', 'in 5m', 'in 60m'],
              rows.map((r) => [r.state, r.jobs, duration(r.oldest_age_s), r.entered_last_5m, r.entered_last_60m]),
            ),
          );
        return 0;
      }
      const job = await getJobWithTimeline(pool, jobId);
      if (!job) {
        process.stderr.write(`tvdb status: no job ${jobId}\n`);
        return 1;
      }
      if (values.json) {
        process.stdout.write(JSON.stringify(job) + '\n');
        return 0;
      }
      process.stdout.write(
        `job ${job.id}  ${printable(job.file_name)}\nstate ${job.state}   correlation ${job.correlation_id}   cost ${formatUsd(job.cost_micro_usd)}\n` +
          (job.last_error ? `error ${job.last_error}\n` : '') +
          '\n' +
          table(
            ['at', 'event', 'state', 'time in state', 'detail'],
            job.timeline.map((e) => [
              new Date(e.entered_at).toISOString(),
              e.kind,
              e.from_state ? `${e.from_state} -> ${e.state}` : e.state,
              duration(e.time_in_state_s),
              Object.keys(e.detail).length ? JSON.stringify(e.detail) : null,
            ]),
          ),
      );
      return 0;
    });
  },
};
export default command;

// Redraws until Ctrl-C. A database that goes away is reported on screen and retried, not fatal.
function watch(intervalS: number, asJson: boolean) {
  return withRuntime({ poolSize: 3, stopNote: '' }, async ({ pool, stopping }) => {
    let stopped = false;
    void stopping.then(() => (stopped = true));
    const tty = process.stdout.isTTY;
    while (!stopped) {
      let frame: string;
      try {
        const snapshot = await loadSnapshot(pool);
        frame = asJson ? JSON.stringify(snapshot) + '\n' : statusText(snapshot);
      } catch (error) {
        frame = asJson
          ? JSON.stringify({ at: Date.now(), error: (error as Error).message }) + '\n'
          : `${new Date().toISOString()}  cannot read the status: ${(error as Error).message}; retrying in ${intervalS} s\n`;
      }
      if (asJson) process.stdout.write(frame);
      else if (tty) process.stdout.write(`\x1b[H\x1b[2J${frame}\n(refreshing every ${intervalS} s; Ctrl-C to quit)\n`);
      else process.stdout.write(`${'='.repeat(72)}\n${frame}`);
      await Promise.race([sleep(intervalS * 1000), stopping]);
    }
    return 0;
  });
}
