// Shared by `tvdb ingest` and `tvdb demo`: take files in, run workers in this process, follow the
// jobs to the end and report.
import type { Runtime } from './runtime.ts';
import { expandPaths, openListedFile, type Skipped } from './files.ts';
import { followJobs, type JobOutcome } from './followJobs.ts';
import { printable, table } from '../lib/format.ts';
import { fileSource } from '../lib/documents/documentSource.ts';
import { buildDeps } from '../worker/buildDeps.ts';
import { intakePolicy } from '../lib/intake/intakePolicy.ts';
import type { PipelineDeps } from '../lib/pipeline/deps.ts';
import { ingestDocument, type IntakeResult } from '../lib/intake/ingestDocument.ts';
import { superviseWorkers } from '../worker/superviseWorkers.ts';

export type IngestFlowOptions = {
  wait: boolean;
  correlationId?: string | undefined;
  json: boolean;
  followSymlinks?: boolean;
};
export type IngestFlowResult = {
  deps: PipelineDeps;
  results: IntakeResult[];
  skipped: Skipped[];
  jobs: JobOutcome[];
  interrupted: boolean;
  seconds: number;
};

export async function ingestFlow(rt: Runtime, paths: string[], options: IngestFlowOptions): Promise<IngestFlowResult> {
  const deps = buildDeps(rt.config, rt.pool, rt.log);
  rt.onShutdown(() => deps.cpu.close());
  const policy = intakePolicy(deps);
  const walk = { followSymlinks: options.followSymlinks };
  const { files, missing, skipped } = expandPaths(paths, walk);
  const results: IntakeResult[] = missing.map((p) => ({ ok: false, fileName: p, reason: 'no such file or folder' }));
  const say = (text: string) => !options.json && process.stdout.write(text);
  for (const r of results) if (!r.ok) say(`refused  ${printable(r.fileName)}: ${printable(r.reason)}\n`);
  for (const s of skipped) say(`skipped  ${printable(s.path)}: ${printable(s.reason)}\n`);
  for (const file of files) {
    const result = await ingestFile(rt, file, walk, options.correlationId, policy);
    results.push(result);
    say(
      result.ok
        ? `queued   ${printable(result.fileName)}  job ${result.jobId}\n`
        : `refused  ${printable(result.fileName)}: ${printable(result.reason)}\n`,
    );
  }
  const accepted = results.filter((r) => r.ok);
  if (!options.wait || !accepted.length) return { deps, results, skipped, jobs: [], interrupted: false, seconds: 0 };
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
  return { deps, results, skipped, jobs, interrupted, seconds };
}

// One listed file: refused by size before it is opened, opened as the file the walk listed (see
// openListedFile), read in parts by the intake.
async function ingestFile(
  rt: Runtime,
  file: { path: string; size: number },
  walk: { followSymlinks?: boolean | undefined },
  correlationId: string | undefined,
  policy: ReturnType<typeof intakePolicy>,
): Promise<IntakeResult> {
  const refuse = (reason: string): IntakeResult => ({ ok: false, fileName: file.path, reason });
  if (file.size > policy.maxBytes)
    return refuse(`the file is ${file.size} bytes, over the limit of ${policy.maxBytes} (TVDB_MAX_FILE_BYTES)`);
  const opened = await openListedFile(file.path, walk);
  if ('reason' in opened) return refuse(opened.reason);
  try {
    return await ingestDocument(
      rt.pool,
      { source: fileSource(opened.handle, opened.size), fileName: file.path, correlationId },
      policy,
    );
  } finally {
    await opened.handle.close();
  }
}

export function exitCodeOf(flow: IngestFlowResult): number {
  const refused = flow.results.some((r) => !r.ok);
  const failed = flow.jobs.some((j) => j.state !== 'complete');
  return refused || failed || flow.interrupted ? 1 : 0;
}
