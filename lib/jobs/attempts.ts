// Attempts a task gets before its job moves to the failed state: its stage's setting when set
// (TVDB_MAX_ATTEMPTS_PARSE, _CHUNK, _EMBED: see stages.ts), else TVDB_MAX_ATTEMPTS.
import type { Config } from '../config.ts';
import { stageOfTask } from './stages.ts';

export type AttemptsFor = (task: string) => number;

export function attemptsFor(config: Config): AttemptsFor {
  return (task) => {
    const setting = stageOfTask(task)?.attemptsSetting;
    return (setting ? config[setting] : undefined) ?? config.TVDB_MAX_ATTEMPTS;
  };
}
