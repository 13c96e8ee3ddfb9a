import type { Command } from '../command.ts';
import { parseCommandArgs, UsageError } from '../command.ts';
import { withRuntime } from '../runtime.ts';
import { ingestFlow, exitCodeOf } from '../ingestFlow.ts';
import { readFileSync } from 'node:fs';
import { expandPaths } from '../files.ts';
import { table } from '../../lib/format.ts';
import { buildDeps } from '../../worker/buildDeps.ts';
import { estimateFile, type FileEstimate } from '../../lib/pipeline/estimateFiles.ts';
import { formatUsd } from '../../lib/costs/pricing.ts';

const command: Command = {
  usage: `Usage: tvdb ingest <file|folder>... [--no-wait] [--estimate] [--correlation-id ID] [--json]

Stores each document (the same bytes are stored once), creates its job and queues it. The type
comes from the content, not the file name; empty files, files over TVDB_MAX_FILE_BYTES and types
the configured parser cannot read are refused with the reason, and the other files still go in.

By default the workers run in this process and the command follows every job until it completes
or fails (a progress bar on a terminal, a line per change otherwise), then prints a summary.
--no-wait only submits, for when "tvdb worker" processes run elsewhere.
--estimate prints what the files would cost to parse and embed with the current settings, and
ingests nothing.

Exit code: 0 when every file was accepted and every job completed; 1 otherwise.`,
  async run(argv) {
    const { values, positionals } = parseCommandArgs(argv, {
      options: {
        'no-wait': { type: 'boolean' },
        estimate: { type: 'boolean' },
        'correlation-id': { type: 'string' },
        json: { type: 'boolean' },
      },
      allowPositionals: true,
    });
    if (!positionals.length) throw new UsageError('name at least one file or folder');
    if (values.estimate) return estimate(positionals, Boolean(values.json));
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
async function estimate(paths: string[], json: boolean): Promise<number> {
  return withRuntime({ poolSize: 2 }, async ({ config, pool, log, onShutdown }) => {
    const deps = buildDeps(config, pool, log);
    onShutdown(() => deps.cpu.close());
    const { files, missing } = expandPaths(paths);
    const rows: FileEstimate[] = [];
    for (const file of files) {
      if (file.size === 0 || file.size > config.TVDB_MAX_FILE_BYTES) continue;
      rows.push(await estimateFile(deps, file.path, readFileSync(file.path)));
    }
    const parse = rows.reduce((n, r) => n + r.parseMicroUsd, 0);
    const embed = rows.reduce((n, r) => n + (r.embedMicroUsd ?? 0), 0);
    if (json) {
      process.stdout.write(
        JSON.stringify({
          files: rows,
          missing,
          total_micro_usd: parse + embed,
          parse_micro_usd: parse,
          embed_micro_usd: embed,
        }) + '\n',
      );
      return 0;
    }
    process.stdout.write(
      table(
        ['file', 'pages', 'parse', 'tokens', 'embed', 'note'],
        rows.map((r) => [
          r.file,
          r.pages,
          formatUsd(r.parseMicroUsd),
          r.tokens,
          r.embedMicroUsd === null ? '?' : formatUsd(r.embedMicroUsd),
          r.note || null,
        ]),
      ) +
        `\nestimate: ${formatUsd(parse + embed)} (parse ${formatUsd(parse)} with the ${deps.parser.parser} parser` +
        `${deps.parser.parser === 'llamaparse' ? `, tier ${config.LLAMAPARSE_TIER}` : ''}; embed ${formatUsd(embed)} with ${deps.embedder.model}); nothing was ingested\n`,
    );
    for (const m of missing) process.stdout.write(`missing: ${m}\n`);
    return missing.length ? 1 : 0;
  });
}

export default command;
