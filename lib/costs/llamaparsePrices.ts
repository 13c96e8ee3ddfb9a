// The catalog prices LlamaParse calls are estimated and billed with.
import type { CommonQueryMethods } from 'slonik';
import { permanent } from '../errors.ts';
import { priceAt } from './budget.ts';

export type LlamaParsePrices = { creditsPerPage: number; microUsdPerCredit: number };

export async function llamaparsePrices(db: CommonQueryMethods, tier: string): Promise<LlamaParsePrices> {
  const creditsPerPage = await priceAt(db, 'llamaparse', `tier:${tier}`, 'credits_per_page');
  const microUsdPerCredit = await priceAt(db, 'llamaparse', 'credit', 'micro_usd_per_credit');
  if (creditsPerPage === null || microUsdPerCredit === null) {
    throw permanent(`price_catalog has no LlamaParse price for tier ${tier}: insert one (see README, Costs)`);
  }
  return { creditsPerPage, microUsdPerCredit };
}
