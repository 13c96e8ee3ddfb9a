// tvdb: one CLI for the pipeline. Each command lives in ./commands/<name>.ts and exports
// { summary, usage, run(argv) }.
import { ConfigError } from '../lib/config.ts';
import { UsageError, type Command } from './command.ts';

// The commands and their summaries. Summaries live here so that `tvdb --help` loads no command
// module; a command's module is loaded only to run it.
const COMMANDS: Record<string, string> = {
  demo: 'the main job: ingest the bundled samples, show progress, a summary and a search',
  ingest: 'ingest files or folders: store, parse, chunk and embed them, following progress',
  status: "pipeline health, or one job's timeline",
  search: 'hybrid (vector + full-text) search of completed documents, with document, pages and score',
  retry: "send failed jobs back to their stage's queue",
  costs: 'what paid calls cost (by service, operation, day or job) and the budgets',
  budget: 'set and list spending limits per service and period',
  breaker: "list the external services' circuit breakers, or close one",
  webhooks: 'signed callbacks to your systems: add, list, remove, test, log, replay subscriptions',
  serve: 'the HTTP server (webhooks, document API, health) plus workers',
  worker: 'pipeline workers only, for this or any host that reaches the database',
  migrate: 'apply database migrations; safe to run again',
  vectors: 'pgvector status, and moving stored vectors onto HNSW indexes (reindex)',
  emulator: 'a local LlamaParse or embeddings API emulator',
};

const loadCommand = async (name: string) => ((await import(`./commands/${name}.ts`)) as { default: Command }).default;

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    if (name === 'help' && rest[0] && COMMANDS[rest[0]]) return main([rest[0], '--help']);
    process.stdout.write(overview());
    return name ? 0 : 2;
  }
  const summary = COMMANDS[name];
  if (!summary) {
    process.stderr.write(`tvdb: unknown command "${name}"\n\n${overview()}`);
    return 2;
  }
  const command = await loadCommand(name);
  if (rest.includes('--help') || rest.includes('-h')) {
    process.stdout.write(`${summary}\n\n${command.usage}\n`);
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
  for (const [name, summary] of Object.entries(COMMANDS)) lines.push(`  ${name.padEnd(10)} ${summary}`);
  lines.push(
    '',
    'Run "tvdb <command> --help" for a command\'s options.',
    'Configuration comes from environment variables; see README.md.',
    '',
  );
  return lines.join('\n');
}
