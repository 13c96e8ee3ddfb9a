import { parseCommandArgs, UsageError, type Command } from '../command.ts';
import { withRuntime } from '../runtime.ts';
import { table } from '../../lib/format.ts';
import { costBreakdown, documentTokens, listBudgets } from '../../lib/costs/reports.ts';
import { formatUsd } from '../../lib/costs/pricing.ts';

const BY = ['service', 'operation', 'day', 'job'] as const;

const command: Command = {
  usage: `Usage: tvdb costs [--by service|operation|day|job] [--json]

What the paid calls cost, from the ledger (integer micro-dollars; shown in dollars), and the
budgets with what is spent, reserved and left. Rows marked * include estimates (the provider
reported no usage, or a paid call was never written down and is charged at what it could cost);
the estimated column says how much. --by job also lists each document's tokens: before and after
clean-up (images as references, non-text runs left out), embedded (its chunks) and billed.`,
  async run(argv) {
    const { values } = parseCommandArgs(argv, { options: { by: { type: 'string' }, json: { type: 'boolean' } } });
    const by = (values.by ?? 'service') as (typeof BY)[number];
    if (!BY.includes(by)) throw new UsageError(`--by takes ${BY.join(', ')}`);
    return withRuntime({ poolSize: 2 }, async ({ pool }) => {
      const rows = await costBreakdown(pool, by);
      const budgets = await listBudgets(pool);
      const documents = by === 'job' ? await documentTokens(pool) : undefined;
      if (values.json) {
        process.stdout.write(
          JSON.stringify({ by, rows, ...(documents ? { documents } : {}), budgets }, (_k, v) =>
            typeof v === 'bigint' ? Number(v) : v,
          ) + '\n',
        );
        return 0;
      }
      const total = rows.reduce((n, r) => n + r.cost_micro_usd, 0n);
      const estimated = rows.reduce((n, r) => n + r.estimated_micro_usd, 0n);
      process.stdout.write(
        table(
          [by, 'calls', 'units', 'cost', 'estimated'],
          rows.map((r) => [
            r.key,
            r.calls,
            String(r.units),
            `${formatUsd(r.cost_micro_usd)}${r.estimated ? '*' : ''}`,
            r.estimated ? formatUsd(r.estimated_micro_usd) : '',
          ]),
        ) + `total ${formatUsd(total)}${estimated > 0n ? ` (* ${formatUsd(estimated)} of it estimated)` : ''}\n`,
      );
      if (documents?.length)
        process.stdout.write(
          `\n${table(
            ['job', 'document', 'tokens before clean-up', 'after', 'embedded', 'billed'],
            documents.map((d) => [
              d.job_id,
              d.file_name,
              d.tokens_before_cleanup,
              d.tokens_after_cleanup,
              d.tokens_embedded,
              d.tokens_billed,
            ]),
          )}`,
        );
      if (budgets.length) {
        process.stdout.write(
          `\n${table(
            ['budget', 'limit', 'spent', 'reserved', 'left', 'used'],
            budgets.map((b) => [
              `${b.scope}/${b.period}`,
              formatUsd(b.limit_micro_usd),
              formatUsd(b.spent_micro_usd),
              formatUsd(b.reserved_micro_usd),
              formatUsd(b.remaining_micro_usd),
              `${(b.share_used * 100).toFixed(1)}%`,
            ]),
          )}`,
        );
      } else process.stdout.write('\nno budgets: spending is not limited (tvdb budget set ...)\n');
      return 0;
    });
  },
};
export default command;
