// tvdb: one CLI for the pipeline. Each command lives in ./commands/<name>.ts and exports
// { summary, usage, run(argv) }.
import { ConfigError } from '../config.ts';
import { UsageError, type Command } from './command.ts';

const COMMANDS: Record<string, () => Promise<{ default: Command }>> = {
  migrate: () => import('./commands/migrate.ts'),
  status: () => import('./commands/status.ts'),
};

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    if (name === 'help' && rest[0] && COMMANDS[rest[0]]) return main([rest[0], '--help']);
    process.stdout.write(await overview());
    return name ? 0 : 2;
  }
  const load = COMMANDS[name];
  if (!load) {
    process.stderr.write(`tvdb: unknown command "${name}"\n\n${await overview()}`);
    return 2;
  }
  const command = (await load()).default;
  if (rest.includes('--help') || rest.includes('-h')) {
    process.stdout.write(`${command.summary}\n\n${command.usage}\n`);
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

async function overview(): Promise<string> {
  const lines = ['Usage: tvdb <command> [options]', '', 'Commands:'];
  for (const [name, load] of Object.entries(COMMANDS)) {
    const command = (await load()).default;
    lines.push(`  ${name.padEnd(10)} ${command.summary}`);
  }
  lines.push(
    '',
    'Run "tvdb <command> --help" for a command\'s options.',
    'Configuration comes from environment variables; see README.md.',
    '',
  );
  return lines.join('\n');
}
