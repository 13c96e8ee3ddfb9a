// Group commit of webhook deliveries: the deliveries that arrive within `windowMs` of the first
// (at most `maxBatch`) go to the database in one statement, and each caller gets its own outcome.
// DataLoader does the gathering (its batch schedule is our window; no caching: every delivery is
// recorded). If a group's statement fails for another reason than an unavailable database, its
// deliveries are recorded one by one, so one bad delivery cannot fail the others.
import DataLoader from 'dataloader';
import type { DatabasePool } from 'slonik';
import { isDatabaseUnavailable } from '../db/unavailable.ts';
import { recordDeliveries, type Delivery, type DeliveryOutcome } from './recordDelivery.ts';

export type GroupCommitSettings = { maxAttempts: number; windowMs: number; maxBatch: number };

export function groupCommitDeliveries(pool: DatabasePool, settings: GroupCommitSettings) {
  const record = (group: readonly Delivery[]) => recordDeliveries(pool, group, settings.maxAttempts);
  const loader = new DataLoader<Delivery, DeliveryOutcome>(
    async (group) => {
      try {
        return await record(group);
      } catch (error) {
        if (group.length === 1 || isDatabaseUnavailable(error)) return group.map(() => error as Error);
        return Promise.all(
          group.map((d) =>
            record([d]).then(
              (r) => r[0]!,
              (e: unknown) => e as Error,
            ),
          ),
        );
      }
    },
    {
      cache: false,
      maxBatchSize: settings.maxBatch,
      batchScheduleFn: (flush) => setTimeout(flush, settings.windowMs),
    },
  );
  return (delivery: Delivery): Promise<DeliveryOutcome> => loader.load(delivery);
}
