// Every minute (graphile-worker's cron: one run per minute across all worker processes), check the
// conditions that are not single events: a stage whose attempts fail above the threshold, stuck
// jobs. evaluate_pipeline_alerts raises at most one alert per condition and window.
import type { Task } from 'graphile-worker';
import { sql } from 'slonik';
import { z } from 'zod';
import type { PipelineDeps } from '../lib/pipeline/deps.ts';

export const ALERT_EVALUATE_CRONTAB = '* * * * * alert__evaluate ?max=1&jobKey=alert__evaluate';

export function alert__evaluate(deps: PipelineDeps): Task {
  return async () => {
    const c = deps.config;
    const raised = await deps.pool.oneFirst(sql.type(z.object({ raised: z.number() }))`
      select evaluate_pipeline_alerts(make_interval(mins => ${c.TVDB_ALERT_WINDOW_MIN}),
                                      ${c.TVDB_ALERT_FAILURE_RATE}, ${c.TVDB_ALERT_MIN_ATTEMPTS}) as raised`);
    if (raised > 0) deps.log.info({ raised }, `alert evaluation raised ${raised} alert(s)`);
  };
}
