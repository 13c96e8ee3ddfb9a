import { userInfo } from 'node:os';
import { parseCommandArgs, UsageError, type Command } from '../command.ts';
import { withRuntime } from '../runtime.ts';
import { table } from '../../lib/format.ts';
import { listBreakers, resetBreaker } from '../../lib/resilience/breakers.ts';

const SERVICES = ['llamaparse', 'embeddings'];

const command: Command = {
  usage: `Usage: tvdb breaker list [--json]
       tvdb breaker reset <llamaparse|embeddings>

A circuit breaker per external service, shared by every worker: it opens after
BREAKER_FAILURE_THRESHOLD consecutive transient failures, lets BREAKER_PROBES probe calls through
after BREAKER_COOLDOWN_S, and closes when they succeed. A probe whose worker dies frees its slot
after the call's timeout plus a margin, so a breaker never stays half-open.
"reset" closes a breaker now (recorded in circuit_breaker_events as a reset by you): for when you
know the service is back and do not want to wait for the cool-down.`,
  async run(argv) {
    const { values, positionals } = parseCommandArgs(argv, {
      options: { json: { type: 'boolean' } },
      allowPositionals: true,
    });
    const [action, service] = positionals;
    if (action === 'list')
      return withRuntime({ poolSize: 1 }, async ({ pool }) => {
        const breakers = await listBreakers(pool);
        if (values.json) process.stdout.write(JSON.stringify(breakers) + '\n');
        else
          process.stdout.write(
            table(
              ['service', 'state', 'consecutive failures', 'probes in flight', 'opened', 'since'],
              breakers.map((b) => [
                b.service,
                b.state,
                b.consecutive_failures,
                b.probes_in_flight,
                b.opened_at === null ? null : new Date(b.opened_at).toISOString().slice(0, 19).replace('T', ' '),
                new Date(b.updated_at).toISOString().slice(0, 19).replace('T', ' '),
              ]),
            ),
          );
        return 0;
      });
    if (action === 'reset') {
      if (!service || !SERVICES.includes(service))
        throw new UsageError(`breaker reset takes one of ${SERVICES.join(', ')}`);
      return withRuntime({ poolSize: 1 }, async ({ pool }) => {
        const was = await resetBreaker(pool, service, `tvdb breaker reset (${userInfo().username})`);
        process.stdout.write(`${service} breaker closed (it was ${was})\n`);
        return 0;
      });
    }
    throw new UsageError('say "list" or "reset <service>"');
  },
};
export default command;
