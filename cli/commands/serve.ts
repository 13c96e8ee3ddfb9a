import type { Command } from '../command.ts';
import { parseCommandArgs } from '../command.ts';
import { withRuntime } from '../runtime.ts';
import { buildDeps } from '../../worker/buildDeps.ts';
import { intakePolicy } from '../../lib/intake/intakePolicy.ts';
import { superviseWorkers } from '../../worker/superviseWorkers.ts';
import { checkServerConfig, serverContext, startServer } from '../../server/start.ts';
import { checkTextSearchLanguage } from '../../lib/search/textSearchLanguage.ts';

const command: Command = {
  usage: `Usage: tvdb serve [--no-workers]

Runs the HTTP server on HOST:PORT (default 127.0.0.1:8080), and workers in the same process
unless --no-workers:
  POST /webhooks/llamaparse/<token>   LlamaParse webhooks (see README: authentication)
  POST /v1/documents                  multipart upload, one or more files (Bearer TVDB_API_TOKEN)
  GET  /v1/jobs/<id>, /v1/jobs?state= job state, timeline and error
  POST /v1/search                     JSON {"query": "...", "k": 10, "mode": "hybrid", ...}
  GET  /healthz, /readyz              liveness; readiness (database reachable, migrations applied)
Without TVDB_API_TOKEN the server only listens on a loopback address.
SIGTERM or Ctrl-C: stop accepting, finish requests and jobs in hand, exit.`,
  async run(argv) {
    const { values } = parseCommandArgs(argv, { options: { 'no-workers': { type: 'boolean' } } });
    return withRuntime(
      { logLevel: 'info', validate: checkServerConfig },
      async ({ config, log, pool, db, onShutdown, stopping }) => {
        await checkTextSearchLanguage(pool, config.TVDB_TEXT_SEARCH_LANGUAGE); // chunks and search use it
        const deps = buildDeps(config, pool, log);
        onShutdown(() => deps.cpu.close());
        const ctx = serverContext(config, pool, log, intakePolicy(deps));
        if (!values['no-workers']) {
          const workers = await superviseWorkers(deps, db.url);
          onShutdown(() => workers.stop());
        }
        const server = await startServer(ctx, config.HOST, config.PORT);
        onShutdown(() => server.close()); // registered last: runs first
        log.info(
          {
            url: server.url,
            workers: !values['no-workers'],
            parser: deps.parser.parser,
            webhooks: deps.parser.parser === 'llamaparse' && Boolean(config.PUBLIC_BASE_URL),
          },
          'serving',
        );
        process.stdout.write(`listening on ${server.url}\n`);
        await stopping;
        return 0;
      },
    );
  },
};
export default command;
