import { parseCommandArgs, UsageError, type Command } from '../command.ts';
import { withRuntime } from '../runtime.ts';
import { table } from '../../lib/format.ts';
import { listBudgets, setBudget } from '../../lib/costs/reports.ts';
import { formatUsd, parseUsd } from '../../lib/costs/pricing.ts';

const SCOPES = ['llamaparse', 'embeddings', 'all'];
const PERIODS = ['day', 'month', 'total'];

const command: Command = {
  usage: `Usage: tvdb budget set <llamaparse|embeddings|all> --period day|month|total --limit-usd <amount> [--restart]
       tvdb budget list [--json]

A budget caps what paid calls may cost per period (a total budget counts from when it was created;
--restart starts it again now). Before every paid call its estimate is reserved; a call that does
not fit waits ("waiting for budget") instead of failing, and resumes when budget frees: a new day
or month, a reservation settled below its estimate, or a raised limit.`,
  async run(argv) {
    const { values, positionals } = parseCommandArgs(argv, {
      options: {
        period: { type: 'string' },
        'limit-usd': { type: 'string' },
        restart: { type: 'boolean' },
        json: { type: 'boolean' },
      },
      allowPositionals: true,
    });
    const [action, scope] = positionals;
    if (action === 'set') {
      if (!scope || !SCOPES.includes(scope)) throw new UsageError(`budget set takes one of ${SCOPES.join(', ')}`);
      if (!values.period || !PERIODS.includes(values.period))
        throw new UsageError(`--period takes ${PERIODS.join(', ')}`);
      if (!values['limit-usd']) throw new UsageError('--limit-usd is required');
      let limit: number;
      try {
        limit = parseUsd(values['limit-usd']);
      } catch (error) {
        throw new UsageError(`--limit-usd: ${(error as Error).message}`);
      }
      return withRuntime({ poolSize: 1 }, async ({ pool }) => {
        await setBudget(pool, scope, values.period!, limit, Boolean(values.restart));
        process.stdout.write(`${scope}/${values.period} budget set to ${formatUsd(limit)}\n`);
        return 0;
      });
    }
    if (action === 'list') {
      return withRuntime({ poolSize: 1 }, async ({ pool }) => {
        const budgets = await listBudgets(pool);
        if (values.json)
          process.stdout.write(JSON.stringify(budgets, (_k, v) => (typeof v === 'bigint' ? Number(v) : v)) + '\n');
        else if (!budgets.length) process.stdout.write('no budgets\n');
        else
          process.stdout.write(
            table(
              ['budget', 'since', 'limit', 'spent', 'reserved', 'left', 'used'],
              budgets.map((b) => [
                `${b.scope}/${b.period}`,
                new Date(b.period_start).toISOString().slice(0, 16),
                formatUsd(b.limit_micro_usd),
                formatUsd(b.spent_micro_usd),
                formatUsd(b.reserved_micro_usd),
                formatUsd(b.remaining_micro_usd),
                `${(b.share_used * 100).toFixed(1)}%`,
              ]),
            ),
          );
        return 0;
      });
    }
    throw new UsageError('say "set" or "list"');
  },
};
export default command;
