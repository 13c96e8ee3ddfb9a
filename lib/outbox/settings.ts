// Delivery settings from the configuration (read once, passed in).
import type { Config } from '../config.ts';
import type { Resolver } from './destination.ts';

export type DeliverySettings = {
  allowPrivate: boolean;
  timeoutMs: number;
  retryBaseMs: number;
  retryForMs: number;
  disableAfterMs: number;
  /** Messages one task run sends before it queues the rest of its line as a new run. */
  maxPerRun: number;
  /** DNS resolution (tests replace it). */
  resolve?: Resolver;
};

export const deliverySettings = (config: Config): DeliverySettings => ({
  allowPrivate: config.TVDB_WEBHOOK_ALLOW_PRIVATE,
  timeoutMs: config.TVDB_WEBHOOK_TIMEOUT_MS,
  retryBaseMs: config.TVDB_WEBHOOK_RETRY_BASE_MS,
  retryForMs: config.TVDB_WEBHOOK_RETRY_FOR_H * 3600_000,
  disableAfterMs: config.TVDB_WEBHOOK_DISABLE_AFTER_H * 3600_000,
  maxPerRun: 50,
});
