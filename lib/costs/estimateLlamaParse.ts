// What parsing a document with LlamaParse will cost, before uploading it: pages counted as
// LlamaParse bills them (estimatePages) x credits per page of the tier x price per credit.
import type { CommonQueryMethods } from 'slonik';
import { estimatePages, type PdfPageReader } from './estimatePages.ts';
import { llamaparsePrices } from './llamaparsePrices.ts';
import { llamaparseCostMicroUsd, llamaparseCredits } from './pricing.ts';

export type LlamaParseEstimate = { pages: number; credits: number; microUsd: number };

export async function estimateLlamaParse(
  db: CommonQueryMethods,
  tier: string,
  bytes: Uint8Array,
  reader: PdfPageReader,
): Promise<LlamaParseEstimate> {
  const prices = await llamaparsePrices(db, tier);
  const pages = await estimatePages(bytes, reader);
  const credits = llamaparseCredits(pages, prices.creditsPerPage);
  return { pages, credits, microUsd: llamaparseCostMicroUsd(credits, prices.microUsdPerCredit) };
}
