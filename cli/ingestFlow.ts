// Shared by `tvdb ingest` and `tvdb demo`: take files in, run workers in this process, follow the
// jobs to the end and report.
import { readFileSync } from 'node:fs';
import type { Runtime } from './runtime.ts';
import { expandPaths } from './files.ts';
import { followJobs, type JobOutcome } from './followJobs.ts';
import { table } from '../lib/format.ts';
import { buildDeps } from '../worker/buildDeps.ts';
import { intakePolicy } from '../lib/intake/intakePolicy.ts';
import type { PipelineDeps } from '../lib/pipeline/deps.ts';
import { ingestDocument, type IntakeResult } from '../lib/intake/ingestDocument.ts';
import { superviseWorkers } from '../worker/superviseWorkers.ts';

export type IngestFlowOptions = { wait: boolean; correlationId?: string | undefined; json: boolean };
export type IngestFlowResult = {
  deps: PipelineDeps;
  results: IntakeResult[];
  jobs: JobOutcome[];
  interrupted: boolean;
  seconds: number;
};

export async function ingestFlow(rt: Runtime, paths: string[], options: IngestFlowOptions): Promise<IngestFlowResult> {
  const deps = buildDeps(rt.config, rt.pool, rt.log);
  rt.onShutdown(() => deps.cpu.close());
  const policy = intakePolicy(deps);
  const { files, missing } = expandPaths(paths);
  const results: IntakeResult[] = missing.map((p) => ({ ok: false, fileName: p, reason: 'no such file or folder' }));
  const say = (text: string) => !options.json && process.stdout.write(text);
  for (const r of results) if (!r.ok) say(`refused  ${r.fileName}: ${r.reason}\n`);
  for (const file of files) {
    // Refuse an oversized file before reading it.
    const result: IntakeResult =
      file.size > policy.maxBytes
        ? {
            ok: false,
            fileName: file.path,
            reason: `the file is ${file.size} bytes, over the limit of ${policy.maxBytes} (TVDB_MAX_FILE_BYTES)`,
          }
        : await ingestDocument(
            rt.pool,
            { bytes: readFileSync(file.path), fileName: file.path, correlationId: options.correlationId },
            policy,
          );
    results.push(result);
    say(
      result.ok
        ? `queued   ${result.fileName}  job ${result.jobId}\n`
        : `refused  ${result.fileName}: ${result.reason}\n`,
    );
  }
  const accepted = results.filter((r) => r.ok);
  if (!options.wait || !accepted.length) return { deps, results, jobs: [], interrupted: false, seconds: 0 };
  const workers = await superviseWorkers(deps, rt.db.url);
  rt.onShutdown(() => workers.stop());
  say(
    `\nprocessing ${accepted.length} document(s) with the ${deps.parser.parser} parser and the ${deps.embedder.model} embedder\n`,
  );
  const started = Date.now();
  const { jobs, interrupted } = await followJobs(
    rt.pool,
    accepted.map((r) => r.jobId),
    {
      stopping: rt.stopping,
      out: options.json ? (process.stderr as NodeJS.WriteStream) : process.stdout,
    },
  );
  const seconds = (Date.now() - started) / 1000;
  const failed = jobs.filter((j) => j.state.startsWith('failed'));
  if (failed.length)
    say(
      `\nfailed:\n${table(
        ['file', 'state', 'reason'],
        failed.map((j) => [j.file_name, j.state, j.last_error]),
      )}`,
    );
  const refused = results.length - accepted.length;
  const waiting = jobs.filter((j) => j.waiting);
  if (waiting.length) {
    say(
      `\n${waiting.length} waiting for budget (${waiting[0]!.waiting}): they stay queued and resume when budget frees;\n` +
        `raise a limit with "npx tvdb budget set ..." and keep "npx tvdb worker" running (or ingest again)\n`,
    );
  }
  say(
    `\n${jobs.filter((j) => j.state === 'complete').length} complete, ` +
      `${failed.length} failed, ${refused} refused in ${seconds.toFixed(1)}s` +
      (interrupted ? '\ninterrupted: unfinished jobs stay queued; "tvdb worker" or another ingest resumes them' : '') +
      (failed.length ? '\nretry failed jobs with: npx tvdb retry --failed' : '') +
      '\n',
  );
  return { deps, results, jobs, interrupted, seconds };
}

export function exitCodeOf(flow: IngestFlowResult): number {
  const refused = flow.results.some((r) => !r.ok);
  const failed = flow.jobs.some((j) => j.state !== 'complete');
  return refused || failed || flow.interrupted ? 1 : 0;
}
