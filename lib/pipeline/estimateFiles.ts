// `tvdb ingest --estimate`: what files would cost to parse and embed with the current settings,
// without doing it. Pages are counted as the parser counts them (countPages);
// tokens by parsing locally and counting with the embedding tokenizer. Bytes already parsed with
// the same settings cost no parse.
import { createHash } from 'node:crypto';
import type { PipelineDeps } from './deps.ts';
import { estimateLlamaParse } from '../costs/estimateLlamaParse.ts';
import { tokenCostMicroUsd } from '../costs/pricing.ts';
import { hasParseResultFor, parserIdentity } from './parseResults.ts';
import { priceAt } from '../costs/budget.ts';
import { leaveOutNonText, tokensLeftOut } from '../chunk/leaveOutNonText.ts';

export type FileEstimate = {
  file: string;
  pages: number;
  parseMicroUsd: number;
  /** Tokens to embed: the parsed text after clean-up (images as references, non-text runs left out). */
  tokens: number | null;
  /** The parsed text's tokens before clean-up (snake_case: api-conventions.md). */
  tokens_before_cleanup: number | null;
  embedMicroUsd: number | null;
  note: string;
};

export async function estimateFile(deps: PipelineDeps, file: string, bytes: Uint8Array): Promise<FileEstimate> {
  const notes: string[] = [];
  let pages: number | null;
  let parseMicroUsd = 0;
  const parser = deps.parser;
  const sha256 = createHash('sha256').update(bytes).digest();
  if (parser.parser === 'llamaparse' && !(await hasParseResultFor(deps.pool, sha256, parserIdentity(parser)))) {
    const estimate = await estimateLlamaParse(deps.pool, deps.config.LLAMAPARSE_TIER, bytes, deps.cpu).catch(
      (error: Error) => ({ pages: null, reason: error.message }) as const,
    );
    pages = estimate.pages;
    if (estimate.pages === null) notes.push(`not sent to LlamaParse: ${estimate.reason}`);
    else parseMicroUsd = estimate.microUsd;
  } else {
    if (parser.parser === 'llamaparse') notes.push('already parsed: no parse cost');
    pages = (await deps.cpu.countPages(bytes).catch(() => ({ pages: null }))).pages;
  }
  pages ??= 1;
  let tokens: number | null = null;
  let tokensBefore: number | null = null;
  try {
    const output = await deps.cpu.parse(bytes);
    const cleaned = leaveOutNonText(output.pages);
    const counts = await deps.cpu.countTokens([...cleaned.pages.map((p) => p.markdown), cleaned.sample]);
    tokens = counts.slice(0, -1).reduce((n, c) => n + c, 0);
    tokensBefore = tokens + tokensLeftOut(cleaned, () => counts.at(-1)!);
    if (cleaned.images || cleaned.runs)
      notes.push(`clean-up: ${cleaned.images} image(s) as references, ${cleaned.runs} non-text run(s) left out`);
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
  return {
    file,
    pages,
    parseMicroUsd,
    tokens,
    tokens_before_cleanup: tokensBefore,
    embedMicroUsd,
    note: notes.join('; '),
  };
}
