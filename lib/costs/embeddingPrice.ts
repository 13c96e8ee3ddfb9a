// The catalog price an embedding model is reserved and billed with. Without one a budget cannot be
// enforced, so the embed stage stops (permanently) with what to do.
import type { CommonQueryMethods } from 'slonik';
import { permanent } from '../errors.ts';
import { priceAt } from './budget.ts';

export async function embeddingPrice(db: CommonQueryMethods, model: string): Promise<number> {
  const price = await priceAt(db, 'embeddings', model, 'micro_usd_per_1m_tokens');
  if (price === null)
    throw permanent(`price_catalog has no price for embedding model "${model}": insert one (see README, Costs)`);
  return price;
}
