// Every minute (one run across all worker processes): close budget reservations past their expiry.
// A paid call that was started against one and never written down (its process died after the
// provider answered) is charged as an estimated ledger row: never silently released.
import type { Task } from 'graphile-worker';
import type { PipelineDeps } from '../lib/pipeline/deps.ts';
import { expireReservations } from '../lib/costs/budget.ts';

export const crontab = '* * * * * budget__expire ?max=1&jobKey=budget__expire';

export default function budget__expire(deps: PipelineDeps): Task {
  return async () => {
    const expired = await expireReservations(deps.pool);
    if (expired > 0) deps.log.info({ expired }, 'budget reservations expired');
  };
}
