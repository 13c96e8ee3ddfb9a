export type Command = {
  usage: string;
  run(argv: string[]): Promise<number>;
};

/** A mistake in how the command was called: printed with the command's usage, exit code 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

import { parseArgs, type ParseArgsConfig } from 'node:util';

/** node:util parseArgs, with its errors turned into UsageError. */
export function parseCommandArgs<T extends ParseArgsConfig>(argv: string[], config: T) {
  try {
    return parseArgs({ ...config, args: argv, strict: true });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}
