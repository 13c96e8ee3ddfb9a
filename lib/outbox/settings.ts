// Delivery settings from the configuration (read once, passed in).
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

/** From the configuration (its fields, not its type: lib/config.ts imports lib/jobs, which must not reach back to it). */
export const deliverySettings = (config: {
  TVDB_WEBHOOK_ALLOW_PRIVATE: boolean;
  TVDB_WEBHOOK_TIMEOUT_MS: number;
  TVDB_WEBHOOK_RETRY_BASE_MS: number;
  TVDB_WEBHOOK_RETRY_FOR_H: number;
  TVDB_WEBHOOK_DISABLE_AFTER_H: number;
}): DeliverySettings => ({
  allowPrivate: config.TVDB_WEBHOOK_ALLOW_PRIVATE,
  timeoutMs: config.TVDB_WEBHOOK_TIMEOUT_MS,
  retryBaseMs: config.TVDB_WEBHOOK_RETRY_BASE_MS,
  retryForMs: config.TVDB_WEBHOOK_RETRY_FOR_H * 3600_000,
  disableAfterMs: config.TVDB_WEBHOOK_DISABLE_AFTER_H * 3600_000,
  maxPerRun: 50,
});
