// Token buckets in Postgres (table rate_limits), shared by every worker on every host.
import { sql, type CommonQueryMethods } from 'slonik';
import { z } from 'zod';
import type { Config } from '../config.ts';

/** Takes `cost` tokens when there are enough; else returns the seconds until there will be. */
export async function takeRateTokens(db: CommonQueryMethods, bucket: string, cost: number): Promise<number> {
  return db.oneFirst(sql.type(z.object({ w: z.number() }))`select take_rate_tokens(${bucket}, ${cost}) as w`);
}

/** Workers set the shared buckets from their configuration when they start. */
export async function configureRateLimits(db: CommonQueryMethods, c: Config) {
  for (const [bucket, capacity, perS] of [
    ['llamaparse:uploads', c.LLAMAPARSE_UPLOADS_PER_10S, c.LLAMAPARSE_UPLOADS_PER_10S / 10],
    ['embeddings:requests', c.EMBEDDINGS_RPM, c.EMBEDDINGS_RPM / 60],
    ['embeddings:tokens', c.EMBEDDINGS_TPM, c.EMBEDDINGS_TPM / 60],
  ] as const) {
    await db.query(sql.unsafe`select configure_rate_limit(${bucket}, ${capacity}, ${perS})`);
  }
}
