import type { Command } from '../command.ts';
import { parseCommandArgs } from '../command.ts';
import { withRuntime } from '../runtime.ts';
import { buildDeps } from '../../worker/buildDeps.ts';
import { superviseWorkers } from '../../worker/superviseWorkers.ts';

const command: Command = {
  usage: `Usage: tvdb worker [--concurrency N]

Runs the parse, chunk and embed tasks from the database's queue until SIGTERM or Ctrl-C, then
finishes the jobs in hand and exits. Start as many as you like, on any host, against one
DATABASE_URL: graphile-worker hands each queued task to exactly one of them.`,
  async run(argv) {
    const { values } = parseCommandArgs(argv, { options: { concurrency: { type: 'string' } } });
    return withRuntime({ logLevel: 'info' }, async ({ config, log, pool, db, onShutdown, stopping }) => {
      const deps = buildDeps(config, pool, log);
      onShutdown(() => deps.cpu.close());
      const concurrency = values.concurrency ? Number(values.concurrency) : undefined;
      const workers = await superviseWorkers(deps, db.url, { concurrency });
      onShutdown(() => workers.stop());
      log.info(
        {
          parser: deps.parser.parser,
          embedder: deps.embedder.model,
          concurrency: concurrency ?? config.TVDB_WORKER_CONCURRENCY,
        },
        'worker started',
      );
      await stopping;
      return 0;
    });
  },
};
export default command;
