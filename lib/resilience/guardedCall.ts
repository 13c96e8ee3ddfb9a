// Every call to an external service goes through here: the service's shared rate limit (token
// buckets in Postgres), its circuit breaker (state in Postgres), then the call, whose outcome is
// recorded for the breaker. A denied call is not made: DeferError re-schedules the task.
import type { DatabasePool } from 'slonik';
import { classify, DeferError } from '../errors.ts';
import type { Logger } from '../log.ts';
import { observeMetric } from '../metrics/observe.ts';
import { acquireBreaker, recordBreakerOutcome, type BreakerSettings, type ExternalService } from './breakers.ts';
import { takeRateTokens } from './rateLimits.ts';

export type { ExternalService } from './breakers.ts';
export type CallGuard = { pool: DatabasePool; log: Logger; breaker: BreakerSettings };

export async function guardedCall<T>(
  guard: CallGuard,
  service: ExternalService,
  operation: string,
  call: () => Promise<T>,
  buckets: Array<[bucket: string, cost: number]> = [],
): Promise<T> {
  const denied = (reason: 'rate_limited' | 'breaker_open') =>
    observeMetric(guard.pool, guard.log, 'tvdb_external_calls_denied_total', { service, operation, reason });
  try {
    for (const [bucket, cost] of buckets) await takeTokens(guard.pool, service, bucket, cost);
  } catch (error) {
    if (error instanceof DeferError) await denied('rate_limited');
    throw error;
  }
  const { decision, retryInS, probeId } = await acquireBreaker(guard.pool, service, guard.breaker);
  if (decision === 'deny') {
    await denied('breaker_open');
    throw new DeferError(Math.ceil(retryInS), { event: 'breaker_open', service, retry_in_s: Math.ceil(retryInS) });
  }
  const started = performance.now();
  const record = (outcome: string, reason: string) =>
    recordBreakerOutcome(guard.pool, guard.breaker, {
      service,
      operation,
      outcome,
      probeId,
      reason,
      seconds: (performance.now() - started) / 1000,
    });
  try {
    const result = await call();
    await record('success', probeId ? 'probe succeeded' : 'success');
    return result;
  } catch (error) {
    await record(classify(error), (error as Error).message).catch(() => {});
    throw error;
  }
}

// Short waits are slept here; longer ones re-schedule the task.
async function takeTokens(pool: DatabasePool, service: ExternalService, bucket: string, cost: number) {
  for (let i = 0; i < 10; i++) {
    const wait = await takeRateTokens(pool, bucket, cost);
    if (wait === 0) return;
    if (wait > 2)
      throw new DeferError(Math.ceil(wait), { event: 'rate_limited', service, bucket, wait_s: Math.ceil(wait) });
    await new Promise((r) => setTimeout(r, wait * 1000 + Math.random() * 100));
  }
  throw new DeferError(2, { event: 'rate_limited', service, bucket });
}
