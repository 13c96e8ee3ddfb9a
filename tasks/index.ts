// The graphile-worker task list, from the files of this folder: the file name is the task
// identifier, the default export builds the task from the pipeline's dependencies, and an exported
// `crontab` line schedules it. A new task is a new file here; nothing else lists it.
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Task, TaskList } from 'graphile-worker';
import type { PipelineDeps } from '../lib/pipeline/deps.ts';

type TaskModule = { default: (deps: PipelineDeps) => Task; crontab?: string };

export async function loadTasks(deps: PipelineDeps): Promise<{ taskList: TaskList; crontab: string }> {
  const dir = fileURLToPath(new URL('.', import.meta.url));
  const names = readdirSync(dir)
    .filter((f) => /^[a-z]+__[a-z_]+\.ts$/.test(f))
    .map((f) => f.slice(0, -3))
    .sort();
  const taskList: TaskList = {};
  const crontab: string[] = [];
  for (const name of names) {
    const mod = (await import(`./${name}.ts`)) as TaskModule;
    taskList[name] = mod.default(deps);
    if (mod.crontab) crontab.push(mod.crontab);
  }
  return { taskList, crontab: crontab.join('\n') };
}
