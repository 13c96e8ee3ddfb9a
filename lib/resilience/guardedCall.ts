// Every call to an external service goes through here: the service's shared rate limit (token
// buckets in Postgres), its circuit breaker (state in Postgres), then the call, whose outcome is
// recorded for the breaker. A denied call is not made: DeferError re-schedules the task.
import { sql } from 'slonik';
import { z } from 'zod';
import type { PipelineDeps } from '../../worker/buildDeps.ts';
import { classify, DeferError } from '../errors.ts';
import { EXTERNAL_CALL_BOUNDS, observeMetric, observeMetricSql } from '../metrics/observe.ts';

export type ExternalService = 'llamaparse' | 'embeddings';

export async function guardedCall<T>(
  deps: PipelineDeps,
  service: ExternalService,
  operation: string,
  call: () => Promise<T>,
  buckets: Array<[bucket: string, cost: number]> = [],
): Promise<T> {
  try {
    for (const [bucket, cost] of buckets) await takeTokens(deps, service, bucket, cost);
  } catch (error) {
    if (error instanceof DeferError)
      await observeMetric(deps.pool, deps.log, 'tvdb_external_calls_denied_total', {
        service,
        operation,
        reason: 'rate_limited',
      });
    throw error;
  }
  const { decision, retry_in_s } = await deps.pool.one(sql.type(
    z.object({ decision: z.string(), retry_in_s: z.number() }),
  )`
    select decision, retry_in_s from breaker_acquire(${service}, make_interval(secs => ${deps.config.BREAKER_COOLDOWN_S}), ${deps.config.BREAKER_PROBES})`);
  if (decision === 'deny') {
    await observeMetric(deps.pool, deps.log, 'tvdb_external_calls_denied_total', {
      service,
      operation,
      reason: 'breaker_open',
    });
    throw new DeferError(Math.ceil(retry_in_s), { event: 'breaker_open', service, retry_in_s: Math.ceil(retry_in_s) });
  }
  const probe = decision === 'probe';
  // The breaker's verdict and the call's latency are recorded in one statement.
  const started = performance.now();
  const record = (outcome: string, reason: string) => {
    const seconds = (performance.now() - started) / 1000;
    const breakerOutcome = outcome === 'success' || outcome === 'transient' ? outcome : 'permanent';
    return deps.pool.query(sql.unsafe`
      select breaker_record(${service}, ${breakerOutcome}, ${probe}, ${deps.config.BREAKER_FAILURE_THRESHOLD}, ${deps.config.BREAKER_PROBES}, ${reason.slice(0, 300)}),
             ${observeMetricSql('tvdb_external_call_duration_seconds', { service, operation, outcome }, seconds, EXTERNAL_CALL_BOUNDS)}`);
  };
  try {
    const result = await call();
    await record('success', probe ? 'probe succeeded' : 'success');
    return result;
  } catch (error) {
    await record(classify(error), (error as Error).message).catch(() => {});
    throw error;
  }
}

// Short waits are slept here; longer ones re-schedule the task.
async function takeTokens(deps: PipelineDeps, service: ExternalService, bucket: string, cost: number) {
  for (let i = 0; i < 10; i++) {
    const wait = await deps.pool.oneFirst(
      sql.type(z.object({ w: z.number() }))`select take_rate_tokens(${bucket}, ${cost}) as w`,
    );
    if (wait === 0) return;
    if (wait > 2)
      throw new DeferError(Math.ceil(wait), { event: 'rate_limited', service, bucket, wait_s: Math.ceil(wait) });
    await new Promise((r) => setTimeout(r, wait * 1000 + Math.random() * 100));
  }
  throw new DeferError(2, { event: 'rate_limited', service, bucket });
}

/** Workers set the shared buckets from their configuration when they start. */
export async function configureRateLimits(deps: PipelineDeps) {
  const c = deps.config;
  for (const [bucket, capacity, perS] of [
    ['llamaparse:uploads', c.LLAMAPARSE_UPLOADS_PER_10S, c.LLAMAPARSE_UPLOADS_PER_10S / 10],
    ['embeddings:requests', c.EMBEDDINGS_RPM, c.EMBEDDINGS_RPM / 60],
    ['embeddings:tokens', c.EMBEDDINGS_TPM, c.EMBEDDINGS_TPM / 60],
  ] as const) {
    await deps.pool.query(sql.unsafe`select configure_rate_limit(${bucket}, ${capacity}, ${perS})`);
  }
}
