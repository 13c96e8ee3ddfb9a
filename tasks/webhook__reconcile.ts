// Every five minutes: webhook lines with due messages but no live task are queued again.
import type { Task } from 'graphile-worker';
import type { PipelineDeps } from '../lib/pipeline/deps.ts';
import { requeueStrandedLines } from '../lib/outbox/requeueStranded.ts';

export const crontab = '*/5 * * * * webhook__reconcile ?max=1&jobKey=webhook__reconcile';

export default function webhook__reconcile(deps: PipelineDeps): Task {
  return async () => {
    const lines = await requeueStrandedLines(deps.pool);
    if (lines > 0) deps.log.warn({ lines }, `re-queued ${lines} stranded webhook line(s)`);
  };
}
