// What parsing a document with LlamaParse can cost at most, before uploading it: its pages counted
// as the parser counts them (countPages) x credits per page of the tier x price per credit. The
// upload then carries page_ranges.max_pages = pages, so LlamaParse cannot bill more.
import type { CommonQueryMethods } from 'slonik';
import type { PageCount } from './countPages.ts';
import { llamaparsePrices } from './llamaparsePrices.ts';
import { llamaparseCostMicroUsd, llamaparseCredits } from './pricing.ts';

export type LlamaParseEstimate =
  { pages: number; exact: boolean; how: string; credits: number; microUsd: number } | { pages: null; reason: string };

export async function estimateLlamaParse(
  db: CommonQueryMethods,
  tier: string,
  bytes: Uint8Array,
  /** The CPU threads (lib/cpu/pool.ts): pages are counted off the event loop, within their limits. */
  counter: { countPages(bytes: Uint8Array): Promise<PageCount> },
): Promise<LlamaParseEstimate> {
  const count = await counter.countPages(bytes);
  if (count.pages === null) return count;
  return { ...count, ...(await llamaparseCost(db, tier, count.pages)) };
}

/** What `pages` pages cost on the tier (credits and micro-USD). */
export async function llamaparseCost(db: CommonQueryMethods, tier: string, pages: number) {
  const prices = await llamaparsePrices(db, tier);
  const credits = llamaparseCredits(pages, prices.creditsPerPage);
  return { credits, microUsd: llamaparseCostMicroUsd(credits, prices.microUsdPerCredit) };
}
