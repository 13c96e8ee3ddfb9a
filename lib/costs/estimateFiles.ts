// `tvdb ingest --estimate`: what files would cost to parse and embed with the current settings,
// without doing it. Pages are counted as LlamaParse bills them (PDF page count, else text length);
// tokens by parsing locally and counting with the embedding tokenizer. Bytes already parsed with
// the same settings cost no parse.
import { createHash } from 'node:crypto';
import { sql, type CommonQueryMethods } from 'slonik';
import { z } from 'zod';
import type { PipelineDeps } from '../../worker/buildDeps.ts';
import { estimatePages } from './estimatePages.ts';
import { llamaparsePrices } from './llamaparsePrices.ts';
import { llamaparseCostMicroUsd, llamaparseCredits, tokenCostMicroUsd } from './pricing.ts';
import { priceAt } from './budget.ts';
import { parseLocally } from '../parse/local/parseLocally.ts';
import { countTokens } from '../chunk/tokenizer.ts';

export type FileEstimate = {
  file: string;
  pages: number;
  parseMicroUsd: number;
  tokens: number | null;
  embedMicroUsd: number | null;
  note: string;
};

export async function estimateFile(deps: PipelineDeps, file: string, bytes: Uint8Array): Promise<FileEstimate> {
  const notes: string[] = [];
  const pages = await estimatePages(bytes);
  let parseMicroUsd = 0;
  if (deps.parser.parser === 'llamaparse') {
    if (await alreadyParsed(deps.pool, bytes, deps.parser.settingsKey)) notes.push('already parsed: no parse cost');
    else {
      const prices = await llamaparsePrices(deps.pool, deps.config.LLAMAPARSE_TIER);
      parseMicroUsd = llamaparseCostMicroUsd(llamaparseCredits(pages, prices.creditsPerPage), prices.microUsdPerCredit);
    }
  }
  let tokens: number | null = null;
  try {
    const output = await parseLocally(bytes);
    tokens = output.pages.reduce((n, p) => n + countTokens(p.markdown), 0);
  } catch {
    notes.push('tokens unknown until parsed');
  }
  let embedMicroUsd: number | null = 0;
  if (deps.embedder.name === 'openai') {
    const price = await priceAt(deps.pool, 'embeddings', deps.embedder.model, 'micro_usd_per_1m_tokens');
    if (price === null) notes.push(`no catalog price for ${deps.embedder.model}`);
    // Chunk overlap repeats some tokens: add its share.
    const overlap = 1 + deps.chunking.overlapTokens / Math.max(1, deps.chunking.targetTokens);
    embedMicroUsd = tokens === null || price === null ? null : tokenCostMicroUsd(Math.ceil(tokens * overlap), price);
  }
  return { file, pages, parseMicroUsd, tokens, embedMicroUsd, note: notes.join('; ') };
}

async function alreadyParsed(db: CommonQueryMethods, bytes: Uint8Array, settingsKey: string): Promise<boolean> {
  const sha = createHash('sha256').update(bytes).digest();
  const row = await db.maybeOneFirst(sql.type(z.object({ id: z.number() }))`
    select r.id::int from parse_results r join documents d on d.id = r.document_id
    where d.sha256 = ${sql.binary(sha)} and r.parser = 'llamaparse' and r.settings_key = ${settingsKey} limit 1`);
  return row !== null;
}
