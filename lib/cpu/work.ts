// What runs in the CPU worker threads (lib/cpu/pool.ts): parsing, chunking, token counting, the
// local embedder, PDF page counts. Each function takes and returns plain data (structured clone);
// a failure is returned as a value, classed, so the main thread can tell "this document cannot be
// parsed" (permanent, with the parser named) from anything else.
import type { MessagePort } from 'node:worker_threads';
import { StageError } from '../errors.ts';
import { detectType } from '../documents/detectType.ts';
import { parseLocally } from '../parse/local/parseLocally.ts';
import type { ParseOutput } from '../parse/types.ts';
import { chunkMarkdown } from '../chunk/chunkMarkdown.ts';
import { countTokens } from '../chunk/tokenizer.ts';
import { hashingEmbedding } from '../embed/hashingEmbedder.ts';

/** Every task says when a thread starts it: the pool's time limit runs from then. */
type Started = { started?: MessagePort };
const begin = (input: Started) => {
  input.started?.postMessage('started');
  input.started?.close();
};

export type Failure = { ok: false; errorClass: 'permanent' | 'transient'; message: string };
export type Done<T> = { ok: true; value: T };

const failure = (error: unknown, what: string): Failure => {
  if (error instanceof StageError && error.errorClass !== 'out_of_credits')
    return { ok: false, errorClass: error.errorClass, message: error.message };
  // Anything else the parser throws on given bytes throws again on the same bytes: permanent.
  const e = error as Error;
  return {
    ok: false,
    errorClass: 'permanent',
    message: `${what} failed on this document (${e?.name ?? 'Error'}: ${e?.message ?? String(e)})`,
  };
};

export async function parse(input: { bytes: Uint8Array } & Started): Promise<Done<ParseOutput> | Failure> {
  begin(input);
  const { bytes } = input;
  const type = detectType(bytes);
  try {
    return { ok: true, value: await parseLocally(bytes, type) };
  } catch (error) {
    return failure(error, `the local ${type.kind.toUpperCase()} parser`);
  }
}

export type ChunkSummary = { count: number; tokens: number; oversized: number[]; rowsJson: string };

/** Chunks of pages (JSON text of [{page_number, markdown}]), as the JSON rows storeChunks inserts. */
export function chunk(input: {
  pagesJson: string;
  targetTokens: number;
  overlapTokens: number;
}): Done<ChunkSummary> | Failure {
  try {
    const pages = JSON.parse(input.pagesJson) as Array<{ page_number: number; markdown: string }>;
    const chunks = chunkMarkdown(pages, {
      targetTokens: input.targetTokens,
      overlapTokens: input.overlapTokens,
      countTokens,
    });
    const rows = chunks.map((c) => ({
      ordinal: c.ordinal,
      content: c.content,
      sha: c.contentSha256.toString('hex'),
      token_count: c.tokenCount,
      overlap_chars: c.overlapChars,
      page_start: c.pageStart,
      page_end: c.pageEnd,
      heading_path: c.headingPath,
      oversized: c.oversized,
    }));
    return {
      ok: true,
      value: {
        count: chunks.length,
        tokens: chunks.reduce((n, c) => n + c.tokenCount, 0),
        oversized: chunks.filter((c) => c.oversized).map((c) => c.ordinal),
        rowsJson: JSON.stringify(rows),
      },
    };
  } catch (error) {
    return failure(error, 'the chunker');
  }
}

export function tokens(input: { texts: string[] } & Started): number[] {
  begin(input);
  return input.texts.map(countTokens);
}

export function embedLocal(input: { texts: string[]; dimensions: number } & Started): number[][] {
  begin(input);
  return input.texts.map((t) => hashingEmbedding(t, input.dimensions));
}

/** The page count pdf.js reads from a PDF's page tree (null: it cannot open the file). */
export async function pdfPages(input: { bytes: Uint8Array } & Started): Promise<number | null> {
  begin(input);
  const { bytes } = input;
  const { getDocumentProxy } = await import('unpdf');
  try {
    const pdf = await getDocumentProxy(bytes, { verbosity: 0 });
    const pages = pdf.numPages;
    await pdf.loadingTask.destroy();
    return pages;
  } catch {
    return null;
  }
}
