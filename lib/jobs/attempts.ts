// Attempts a task gets before its job moves to the failed state: its stage's setting when set
// (TVDB_MAX_ATTEMPTS_PARSE, _CHUNK, _EMBED: see stages.ts), else TVDB_MAX_ATTEMPTS.
import { stageOfTask, STAGES } from './stages.ts';

export type AttemptsFor = (task: string) => number;

/** The part of the configuration attempts read (lib/config.ts derives the stages' variables from STAGES). */
export type AttemptsSettings = { TVDB_MAX_ATTEMPTS: number } & {
  [K in (typeof STAGES)[number]['attemptsSetting']]?: number | undefined;
};

export function attemptsFor(config: AttemptsSettings): AttemptsFor {
  return (task) => {
    const setting = stageOfTask(task)?.attemptsSetting;
    return (setting ? config[setting] : undefined) ?? config.TVDB_MAX_ATTEMPTS;
  };
}
