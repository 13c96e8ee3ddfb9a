// Every minute (graphile-worker's cron: one run per minute across all worker processes), check the
// conditions that are not single events: a stage whose attempts fail above the threshold, stuck
// jobs. evaluate_pipeline_alerts raises at most one alert per condition and window.
import type { Task } from 'graphile-worker';
import type { PipelineDeps } from '../lib/pipeline/deps.ts';
import { evaluatePipelineAlerts } from '../lib/alerts/alertRows.ts';

export const crontab = '* * * * * alert__evaluate ?max=1&jobKey=alert__evaluate';

export default function alert__evaluate(deps: PipelineDeps): Task {
  return async () => {
    const c = deps.config;
    const raised = await evaluatePipelineAlerts(deps.pool, {
      windowMin: c.TVDB_ALERT_WINDOW_MIN,
      maxFailureRate: c.TVDB_ALERT_FAILURE_RATE,
      minAttempts: c.TVDB_ALERT_MIN_ATTEMPTS,
    });
    if (raised > 0) deps.log.info({ raised }, `alert evaluation raised ${raised} alert(s)`);
  };
}
