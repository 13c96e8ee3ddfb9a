// Attempts a stage's task gets before its job moves to the failed state: per stage when set
// (TVDB_MAX_ATTEMPTS_PARSE, _CHUNK, _EMBED), else TVDB_MAX_ATTEMPTS.
import type { Config } from '../config.ts';
import type { TaskName } from './enqueue.ts';

export type AttemptsFor = (task: TaskName) => number;

export function attemptsFor(config: Config): AttemptsFor {
  return (task) => {
    const perStage =
      task === 'job__parse' || task === 'job__parse_collect'
        ? config.TVDB_MAX_ATTEMPTS_PARSE
        : task === 'job__chunk'
          ? config.TVDB_MAX_ATTEMPTS_CHUNK
          : task === 'job__embed'
            ? config.TVDB_MAX_ATTEMPTS_EMBED
            : undefined;
    return perStage ?? config.TVDB_MAX_ATTEMPTS;
  };
}
