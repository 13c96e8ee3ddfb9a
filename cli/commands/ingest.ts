import type { Command } from '../command.ts';
import { parseCommandArgs, UsageError } from '../command.ts';
import { withRuntime } from '../runtime.ts';
import { ingestFlow, exitCodeOf } from '../ingestFlow.ts';
import type { FileHandle } from 'node:fs/promises';
import { expandPaths, openListedFile } from '../files.ts';
import { printable, table } from '../../lib/format.ts';
import { checkDocument } from '../../lib/intake/checkDocument.ts';
import { intakePolicy } from '../../lib/intake/intakePolicy.ts';
import { fileSource } from '../../lib/documents/documentSource.ts';
import { buildDeps } from '../../worker/buildDeps.ts';
import { estimateFile, type FileEstimate } from '../../lib/pipeline/estimateFiles.ts';
import { formatUsd } from '../../lib/costs/pricing.ts';

const command: Command = {
  usage: `Usage: tvdb ingest <file|folder>... [--no-wait] [--estimate] [--follow-symlinks] [--correlation-id ID] [--json]

Stores each document (the same bytes are stored once), creates its job and queues it. The type
comes from the content, not the file name; empty files, files over TVDB_MAX_FILE_BYTES and types
the configured parser cannot read are refused with the reason, and the other files still go in.

By default the workers run in this process and the command follows every job until it completes
or fails (a progress bar on a terminal, a line per change otherwise), then prints a summary.
--no-wait only submits, for when "tvdb worker" processes run elsewhere.
--estimate prints what the files would cost to parse and embed with the current settings, and
ingests nothing.
Symbolic links are skipped (and listed) unless --follow-symlinks; then a folder reached twice is
a loop and is skipped, and a file reached by two paths goes in once. FIFOs, sockets and devices are
never opened.

Exit code: 0 when every file was accepted and every job completed; 1 otherwise.`,
  async run(argv) {
    const { values, positionals } = parseCommandArgs(argv, {
      options: {
        'no-wait': { type: 'boolean' },
        estimate: { type: 'boolean' },
        'correlation-id': { type: 'string' },
        'follow-symlinks': { type: 'boolean' },
        json: { type: 'boolean' },
      },
      allowPositionals: true,
    });
    if (!positionals.length) throw new UsageError('name at least one file or folder');
    const walk = { followSymlinks: Boolean(values['follow-symlinks']) };
    if (values.estimate) return estimate(positionals, Boolean(values.json), walk);
    return withRuntime({}, async (rt) => {
      const flow = await ingestFlow(rt, positionals, {
        wait: !values['no-wait'],
        correlationId: values['correlation-id'],
        json: Boolean(values.json),
        followSymlinks: walk.followSymlinks,
      });
      if (values.json)
        process.stdout.write(
          JSON.stringify({ results: flow.results, skipped: flow.skipped, jobs: flow.jobs, seconds: flow.seconds }) +
            '\n',
        );
      return exitCodeOf(flow);
    });
  },
};
async function estimate(paths: string[], json: boolean, walk: { followSymlinks: boolean }): Promise<number> {
  return withRuntime({ poolSize: 2 }, async ({ config, pool, log, onShutdown }) => {
    const deps = buildDeps(config, pool, log);
    onShutdown(() => deps.cpu.close());
    const { files, missing, skipped } = expandPaths(paths, walk);
    const rows: FileEstimate[] = [];
    const refused: Array<{ file: string; reason: string }> = [];
    for (const file of files) {
      if (file.size === 0 || file.size > config.TVDB_MAX_FILE_BYTES) continue;
      const opened = await openListedFile(file.path, walk);
      if ('reason' in opened) {
        refused.push({ file: file.path, reason: opened.reason });
        continue;
      }
      try {
        // The intake's own check first: the estimate parses locally, and a zip bomb must not inflate.
        const check = await checkDocument(fileSource(opened.handle, opened.size), intakePolicy(deps));
        if (!check.ok) refused.push({ file: file.path, reason: check.reason });
        else rows.push(await estimateFile(deps, file.path, await readWhole(opened.handle, opened.size)));
      } finally {
        await opened.handle.close();
      }
    }
    const parse = rows.reduce((n, r) => n + r.parseMicroUsd, 0);
    const embed = rows.reduce((n, r) => n + (r.embedMicroUsd ?? 0), 0);
    if (json) {
      process.stdout.write(
        JSON.stringify({
          files: rows,
          missing,
          skipped,
          refused,
          total_micro_usd: parse + embed,
          parse_micro_usd: parse,
          embed_micro_usd: embed,
        }) + '\n',
      );
      return 0;
    }
    process.stdout.write(
      table(
        ['file', 'pages', 'parse', 'tokens before clean-up', 'tokens', 'embed', 'note'],
        rows.map((r) => [
          r.file,
          r.pages,
          formatUsd(r.parseMicroUsd),
          r.tokens_before_cleanup,
          r.tokens,
          r.embedMicroUsd === null ? '?' : formatUsd(r.embedMicroUsd),
          r.note || null,
        ]),
      ) +
        `\nestimate: ${formatUsd(parse + embed)} (parse ${formatUsd(parse)} with the ${deps.parser.parser} parser` +
        `${deps.parser.parser === 'llamaparse' ? `, tier ${config.LLAMAPARSE_TIER}` : ''}; embed ${formatUsd(embed)} with ${deps.embedder.model}); nothing was ingested\n`,
    );
    for (const m of missing) process.stdout.write(`missing: ${printable(m)}\n`);
    for (const s of skipped) process.stdout.write(`skipped: ${printable(s.path)}: ${printable(s.reason)}\n`);
    for (const r of refused) process.stdout.write(`refused: ${printable(r.file)}: ${printable(r.reason)}\n`);
    return missing.length || refused.length ? 1 : 0;
  });
}

// The estimate parses locally, so it needs the bytes (a file within TVDB_MAX_FILE_BYTES).
async function readWhole(handle: FileHandle, size: number): Promise<Buffer> {
  return fileSource(handle, size).read(0, size);
}

export default command;
