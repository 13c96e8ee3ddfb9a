// Circuit breakers, one per external service, in Postgres (table circuit_breakers): shared by every
// worker on every host. breaker_acquire decides whether a call may go; breaker_record counts its outcome.
import { sql, type CommonQueryMethods } from 'slonik';
import { z } from 'zod';
import type { Config } from '../config.ts';
import { EXTERNAL_CALL_BOUNDS, observeMetricSql } from '../metrics/observe.ts';

export type ExternalService = 'llamaparse' | 'embeddings';
export type BreakerSettings = {
  failureThreshold: number;
  cooldownS: number;
  probes: number;
  /** How long a probe slot is held: the service's call timeout plus a margin. A prober that dies
   * mid-call frees its slot by itself after this. */
  probeTtlS: Record<ExternalService, number>;
};

const PROBE_MARGIN_S = 10;

export const breakerSettings = (config: Config): BreakerSettings => ({
  failureThreshold: config.BREAKER_FAILURE_THRESHOLD,
  cooldownS: config.BREAKER_COOLDOWN_S,
  probes: config.BREAKER_PROBES,
  probeTtlS: {
    llamaparse: config.LLAMAPARSE_TIMEOUT_MS / 1000 + PROBE_MARGIN_S,
    embeddings: config.EMBEDDINGS_TIMEOUT_MS / 1000 + PROBE_MARGIN_S,
  },
});

export type BreakerDecision = { decision: 'allow' | 'probe' | 'deny'; retryInS: number; probeId: string | null };

export async function acquireBreaker(
  db: CommonQueryMethods,
  service: ExternalService,
  settings: BreakerSettings,
): Promise<BreakerDecision> {
  const row = await db.one(sql.type(
    z.object({ decision: z.enum(['allow', 'probe', 'deny']), retry_in_s: z.number(), probe_id: z.string().nullable() }),
  )`
    select decision, retry_in_s, probe_id::text from breaker_acquire(${service}, make_interval(secs => ${settings.cooldownS}),
      ${settings.probes}, make_interval(secs => ${settings.probeTtlS[service]}))`);
  return { decision: row.decision, retryInS: row.retry_in_s, probeId: row.probe_id };
}

/** The call's outcome for the breaker and its latency for /metrics, in one statement. */
export async function recordBreakerOutcome(
  db: CommonQueryMethods,
  settings: BreakerSettings,
  call: {
    service: ExternalService;
    operation: string;
    outcome: string;
    probeId: string | null;
    reason: string;
    seconds: number;
  },
) {
  const breakerOutcome = call.outcome === 'success' || call.outcome === 'transient' ? call.outcome : 'permanent';
  const labels = { service: call.service, operation: call.operation, outcome: call.outcome };
  await db.query(sql.unsafe`
    select breaker_record(${call.service}, ${breakerOutcome}, ${call.probeId}::bigint, ${settings.failureThreshold}, ${settings.probes}, ${call.reason.slice(0, 300)}),
           ${observeMetricSql('tvdb_external_call_duration_seconds', labels, call.seconds, EXTERNAL_CALL_BOUNDS)}`);
}

const BreakerRow = z.object({
  service: z.string(),
  state: z.string(),
  consecutive_failures: z.number(),
  opened_at: z.number().nullable(),
  probes_in_flight: z.number(),
  updated_at: z.number(),
});
export type BreakerRow = z.infer<typeof BreakerRow>;

/** tvdb breaker list: every breaker with its live probe slots. */
export async function listBreakers(db: CommonQueryMethods): Promise<readonly BreakerRow[]> {
  return db.any(sql.type(BreakerRow)`
    select b.service, b.state, b.consecutive_failures, b.opened_at, b.updated_at,
           (select count(*)::int from circuit_breaker_probes p where p.service = b.service and p.expires_at > now()) as probes_in_flight
    from circuit_breakers b order by b.service`);
}

/** tvdb breaker reset: closes the breaker (an event records who did it); returns the state it was in. */
export async function resetBreaker(db: CommonQueryMethods, service: string, who: string): Promise<string> {
  return db.oneFirst(sql.type(z.object({ s: z.string() }))`select reset_breaker(${service}, ${who}) as s`);
}
