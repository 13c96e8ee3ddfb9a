// The graphile-worker task list: the file name is the task identifier.
import type { TaskList } from 'graphile-worker';
import type { PipelineDeps } from '../lib/pipeline/deps.ts';
import { job__parse } from './job__parse.ts';
import { job__parse_collect } from './job__parse_collect.ts';
import { job__chunk } from './job__chunk.ts';
import { job__embed } from './job__embed.ts';
import { alert__deliver } from './alert__deliver.ts';
import { alert__evaluate } from './alert__evaluate.ts';

export function buildTaskList(deps: PipelineDeps): TaskList {
  return {
    job__parse: job__parse(deps),
    job__parse_collect: job__parse_collect(deps),
    job__chunk: job__chunk(deps),
    job__embed: job__embed(deps),
    alert__deliver: alert__deliver(deps),
    alert__evaluate: alert__evaluate(deps),
  };
}
