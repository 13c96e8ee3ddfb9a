// What runs in the CPU worker threads (lib/cpu/pool.ts): parsing, chunking, token counting, the
// local embedder, PDF page counts. Each function takes and returns plain data (structured clone);
// a failure is returned as a value, classed, so the main thread can tell "this document cannot be
// parsed" (permanent, with the parser named) from anything else.
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { threadId, type MessagePort } from 'node:worker_threads';
import { StageError } from '../errors.ts';
import { detectType } from '../documents/detectType.ts';
import { parseLocally } from '../parse/local/parseLocally.ts';
import type { ParseOutput } from '../parse/types.ts';
import { chunkMarkdown } from '../chunk/chunkMarkdown.ts';
import { leaveOutNonText, tokensLeftOut, type LeftOut } from '../chunk/leaveOutNonText.ts';
import { countTokens, countTokensBounded } from '../chunk/tokenizer.ts';
import { hashingEmbedding } from '../embed/hashingEmbedder.ts';
import { countPages, type PageCount } from '../costs/countPages.ts';
import type { ZipLimits } from '../documents/zipLimits.ts';

// A thread's heap grows to the largest document it has handled and V8 gives little of it back
// while the thread idles, so the next stage (in this thread or the main one) adds to it: parsing
// or chunking a large document (over 1 MB) is followed by a full collection, which returns the
// freed pages (bench:memory: ~15 MB less peak on War and Peace). `gc` is exposed for this thread
// only (the Node documentation's idiom); it runs on a timer set as the task ends, so after the
// task's answer has been posted. Small tasks (token counts, embedding batches) skip it.
// The flag is process-wide and threads start concurrently: it is left set (turning it off again
// raced with another thread's lookup, leaving it without `gc`), and a lookup that still fails
// only skips the collections.
setFlagsFromString('--expose-gc');
const collect = ((): (() => void) => {
  try {
    const gc: unknown = runInNewContext('typeof gc === "function" ? gc : undefined');
    return typeof gc === 'function' ? (gc as () => void) : () => {};
  } catch {
    return () => {};
  }
})();
const collectAfterLarge = (size: number) => {
  if (size > 1 << 20) setTimeout(collect, 0);
};

/** Every task says when a thread starts it (and which thread): the pool's time limit runs from then. */
type Started = { started?: MessagePort };
const begin = (input: Started) => {
  input.started?.postMessage({ threadId }); // the pool watches this thread's memory while it works
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

export async function parse(
  input: { bytes: Uint8Array; zipLimits: ZipLimits } & Started,
): Promise<Done<ParseOutput> | Failure> {
  begin(input);
  const { bytes } = input;
  const type = detectType(bytes);
  try {
    return { ok: true, value: await parseLocally(bytes, type, input.zipLimits) };
  } catch (error) {
    return failure(error, `the local ${type.kind.toUpperCase()} parser`);
  } finally {
    collectAfterLarge(bytes.length);
  }
}

/** What clean-up did before chunking (lib/chunk/leaveOutNonText.ts): the document's tokens before
 * and after, images replaced by a reference, characters of non-text runs left out. */
export type Cleanup = { tokensBefore: number; tokensAfter: number; images: number; runs: number; leftOut: LeftOut };
export type ChunkSummary = { count: number; tokens: number; oversized: number[]; rowsJson: string; cleanup: Cleanup };

/** Chunks of pages (JSON text of [{page_number, markdown}]), as the JSON rows storeChunks inserts;
 * images and non-text runs are left out first. */
export function chunk(
  input: {
    pagesJson: string;
    targetTokens: number;
    overlapTokens: number;
  } & Started,
): Done<ChunkSummary> | Failure {
  begin(input); // (it did not say so before: a chunk task had no time limit)
  try {
    const parsed = JSON.parse(input.pagesJson) as Array<{ page_number: number; markdown: string }>;
    const cleaned = leaveOutNonText(parsed);
    const pages = cleaned.pages;
    const tokensAfter = pages.reduce((n, p) => n + countTokensBounded(p.markdown), 0);
    // Before clean-up: after, plus what was left out (estimated from a sample: see tokensLeftOut).
    const tokensBefore = tokensAfter + tokensLeftOut(cleaned, countTokensBounded);
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
        cleanup: { tokensBefore, tokensAfter, images: cleaned.images, runs: cleaned.runs, leftOut: cleaned.leftOut },
      },
    };
  } catch (error) {
    return failure(error, 'the chunker');
  } finally {
    collectAfterLarge(input.pagesJson.length);
  }
}

export function tokens(input: { texts: string[] } & Started): number[] {
  begin(input);
  return input.texts.map((t) => countTokensBounded(t)); // exact but for runs over 2,048 characters (runs.ts)
}

export function embedLocal(input: { texts: string[]; dimensions: number } & Started): number[][] {
  begin(input);
  return input.texts.map((t) => hashingEmbedding(t, input.dimensions));
}

/** Pages as a parser counts them (lib/costs/countPages.ts: mammoth for a DOCX, pdf.js for a PDF). */
export async function pages(
  input: { bytes: Uint8Array; zipLimits: ZipLimits } & Started,
): Promise<Done<PageCount> | Failure> {
  begin(input);
  try {
    return { ok: true, value: await countPages(input.bytes, { pdfPages: readPdfPages }, input.zipLimits) };
  } catch (error) {
    return failure(error, 'counting pages');
  } finally {
    collectAfterLarge(input.bytes.length);
  }
}

/** The page count pdf.js reads from a PDF's page tree (null: it cannot open the file). */
export async function pdfPages(input: { bytes: Uint8Array } & Started): Promise<number | null> {
  begin(input);
  return readPdfPages(input.bytes);
}

async function readPdfPages(bytes: Uint8Array): Promise<number | null> {
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
