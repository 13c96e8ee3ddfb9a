// Circuit breakers, one per external service, in Postgres (table circuit_breakers): shared by every
// worker on every host. breaker_acquire decides whether a call may go; breaker_record counts its outcome.
import { sql, type CommonQueryMethods } from 'slonik';
import { z } from 'zod';
import type { Config } from '../config.ts';
import { EXTERNAL_CALL_BOUNDS, observeMetricSql } from '../metrics/observe.ts';

export type ExternalService = 'llamaparse' | 'embeddings';
export type BreakerSettings = { failureThreshold: number; cooldownS: number; probes: number };

export const breakerSettings = (config: Config): BreakerSettings => ({
  failureThreshold: config.BREAKER_FAILURE_THRESHOLD,
  cooldownS: config.BREAKER_COOLDOWN_S,
  probes: config.BREAKER_PROBES,
});

export type BreakerDecision = { decision: 'allow' | 'probe' | 'deny'; retryInS: number };

export async function acquireBreaker(
  db: CommonQueryMethods,
  service: ExternalService,
  settings: BreakerSettings,
): Promise<BreakerDecision> {
  const row = await db.one(sql.type(z.object({ decision: z.enum(['allow', 'probe', 'deny']), retry_in_s: z.number() }))`
    select decision, retry_in_s from breaker_acquire(${service}, make_interval(secs => ${settings.cooldownS}), ${settings.probes})`);
  return { decision: row.decision, retryInS: row.retry_in_s };
}

/** The call's outcome for the breaker and its latency for /metrics, in one statement. */
export async function recordBreakerOutcome(
  db: CommonQueryMethods,
  settings: BreakerSettings,
  call: {
    service: ExternalService;
    operation: string;
    outcome: string;
    probe: boolean;
    reason: string;
    seconds: number;
  },
) {
  const breakerOutcome = call.outcome === 'success' || call.outcome === 'transient' ? call.outcome : 'permanent';
  const labels = { service: call.service, operation: call.operation, outcome: call.outcome };
  await db.query(sql.unsafe`
    select breaker_record(${call.service}, ${breakerOutcome}, ${call.probe}, ${settings.failureThreshold}, ${settings.probes}, ${call.reason.slice(0, 300)}),
           ${observeMetricSql('tvdb_external_call_duration_seconds', labels, call.seconds, EXTERNAL_CALL_BOUNDS)}`);
}
