// tvdb: one CLI for the pipeline. Each command lives in ./commands/<name>.ts and exports
// { summary, usage, run(argv) }.
import { ConfigError } from '../lib/config.ts';
import { UsageError, type Command } from './command.ts';

// Summaries live here so that `tvdb --help` loads no command module.
const COMMANDS: Record<string, { summary: string; load: () => Promise<{ default: Command }> }> = {
  demo: {
    summary: 'the main job: ingest the bundled samples, show progress, a summary and a search',
    load: () => import('./commands/demo.ts'),
  },
  ingest: {
    summary: 'ingest files or folders: store, parse, chunk and embed them, following progress',
    load: () => import('./commands/ingest.ts'),
  },
  status: { summary: "pipeline health, or one job's timeline", load: () => import('./commands/status.ts') },
  search: {
    summary: 'the chunks nearest to a text, with document, page and score',
    load: () => import('./commands/search.ts'),
  },
  retry: { summary: "send failed jobs back to their stage's queue", load: () => import('./commands/retry.ts') },
  costs: {
    summary: 'what paid calls cost (by service, operation, day or job) and the budgets',
    load: () => import('./commands/costs.ts'),
  },
  budget: {
    summary: 'set and list spending limits per service and period',
    load: () => import('./commands/budget.ts'),
  },
  serve: {
    summary: 'the HTTP server (webhooks, document API, health) plus workers',
    load: () => import('./commands/serve.ts'),
  },
  worker: {
    summary: 'pipeline workers only, for this or any host that reaches the database',
    load: () => import('./commands/worker.ts'),
  },
  migrate: { summary: 'apply database migrations; safe to run again', load: () => import('./commands/migrate.ts') },
  emulator: { summary: 'a local LlamaParse or embeddings API emulator', load: () => import('./commands/emulator.ts') },
};

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    if (name === 'help' && rest[0] && COMMANDS[rest[0]]) return main([rest[0], '--help']);
    process.stdout.write(overview());
    return name ? 0 : 2;
  }
  const entry = COMMANDS[name];
  if (!entry) {
    process.stderr.write(`tvdb: unknown command "${name}"\n\n${overview()}`);
    return 2;
  }
  const command = (await entry.load()).default;
  if (rest.includes('--help') || rest.includes('-h')) {
    process.stdout.write(`${entry.summary}\n\n${command.usage}\n`);
    return 0;
  }
  try {
    return await command.run(rest);
  } catch (error) {
    if (error instanceof UsageError) {
      process.stderr.write(`tvdb ${name}: ${error.message}\n\n${command.usage}\n`);
      return 2;
    }
    if (error instanceof ConfigError) {
      process.stderr.write(`tvdb ${name}: ${error.message}\n`);
      return 78; // EX_CONFIG
    }
    process.stderr.write(`tvdb ${name}: ${(error as Error).message ?? error}\n`);
    return 1;
  }
}

function overview(): string {
  const lines = ['Usage: tvdb <command> [options]', '', 'Commands:'];
  for (const [name, entry] of Object.entries(COMMANDS)) lines.push(`  ${name.padEnd(10)} ${entry.summary}`);
  lines.push(
    '',
    'Run "tvdb <command> --help" for a command\'s options.',
    'Configuration comes from environment variables; see README.md.',
    '',
  );
  return lines.join('\n');
}
