// CPU-heavy work off the main event loop: parsing (pdf.js, mammoth, HTML to Markdown), chunking and
// token counting, the local embedder run in a pool of worker threads (piscina), each task with a
// time limit (the thread is terminated) and each thread with a heap limit (a thread that exceeds it
// dies; the process does not). Heartbeats, the HTTP server and task bookkeeping on the main thread
// never wait for them. A document that exceeds a limit, or that makes a parser throw, fails
// permanently with what happened: the same bytes would do the same again.
import { availableParallelism } from 'node:os';
import { MessageChannel } from 'node:worker_threads';
import { Piscina } from 'piscina';
import type { Config } from '../config.ts';
import { permanent, StageError } from '../errors.ts';
import type { ParseOutput } from '../parse/types.ts';
import type { PageCount } from '../costs/countPages.ts';
import { DEFAULT_ZIP_LIMITS, type ZipLimits } from '../documents/zipLimits.ts';
import type { ChunkSummary, Done, Failure } from './work.ts';

/** How often a running task's thread is asked for its memory outside the JS heap. */
const EXTERNAL_CHECK_MS = 100;

export type CpuSettings = { threads: number; timeoutS: number; memoryMb: number; zipLimits?: ZipLimits };

export const cpuSettings = (config: Config): CpuSettings => ({
  threads: Math.max(1, Math.min(config.TVDB_CPU_THREADS ?? availableParallelism(), config.TVDB_WORKER_CONCURRENCY)),
  timeoutS: config.TVDB_PARSE_TIMEOUT_S,
  memoryMb: config.TVDB_PARSE_MEMORY_MB,
  zipLimits: { maxUnzippedBytes: config.TVDB_MAX_UNZIPPED_BYTES, maxRatio: config.TVDB_MAX_ZIP_RATIO },
});

export type CpuPool = {
  parse(bytes: Uint8Array): Promise<ParseOutput>;
  chunk(input: { pagesJson: string; targetTokens: number; overlapTokens: number }): Promise<ChunkSummary>;
  countTokens(texts: string[]): Promise<number[]>;
  embedLocal(texts: string[], dimensions: number): Promise<number[][]>;
  /** A PDF's page count (null when pdf.js cannot open it). */
  pdfPages(bytes: Uint8Array): Promise<number | null>;
  /** Pages as a parser counts them (lib/costs/countPages.ts), in a thread. */
  countPages(bytes: Uint8Array): Promise<PageCount>;
  close(): Promise<void>;
};

export function createCpuPool(settings: CpuSettings): CpuPool {
  // A thread inflates no ZIP entry larger than a quarter of its heap (lib/documents/verifiedZip.ts).
  const zipLimits = { ...(settings.zipLimits ?? DEFAULT_ZIP_LIMITS), maxEntryBytes: (settings.memoryMb << 20) / 4 };
  let pool: Piscina | undefined;
  const threads = () =>
    (pool ??= new Piscina({
      filename: new URL('./work.ts', import.meta.url).href,
      // At least one: with none, piscina 5 leaves queued tasks waiting after it ends an aborted thread.
      minThreads: 1,
      maxThreads: settings.threads,
      idleTimeout: 60_000,
      resourceLimits: { maxOldGenerationSizeMb: settings.memoryMb, maxYoungGenerationSizeMb: 8, stackSizeMb: 16 },
    }));
  // The time limit runs from when a thread starts the task (it says so on `started`), not from
  // when the task was queued: a document waiting behind a slow one is not charged for its wait.
  const run = async <T>(
    name: string,
    activity: string,
    input: Record<string, unknown>,
    transfer: ArrayBuffer[] = [],
  ): Promise<T> => {
    const { port1, port2 } = new MessageChannel();
    const abort = new AbortController();
    let timer: NodeJS.Timeout | undefined;
    let watch: NodeJS.Timeout | undefined;
    let external = 0;
    // Memory outside the JS heap (Buffers, ArrayBuffers, external strings) is not bounded by
    // resourceLimits (measured: a thread limited to 256 MB held 2 GB of Buffers): while the task
    // runs, its thread's external memory is read (Worker.getHeapStatistics, answered between the
    // thread's JS steps) and over the limit the task is ended like a timed-out one.
    const externalLimit = (settings.memoryMb << 20) + 3 * transfer.reduce((n, b) => n + b.byteLength, 0);
    port1.once('message', (message: { threadId?: number }) => {
      timer = setTimeout(() => abort.abort(), settings.timeoutS * 1000);
      const thread = pool?.threads.find((w) => w.threadId === message?.threadId);
      if (!thread) return;
      let reading = false;
      watch = setInterval(() => {
        if (reading) return;
        reading = true;
        thread
          .getHeapStatistics()
          .then((stats) => {
            if (stats.external_memory > externalLimit && !abort.signal.aborted) {
              external = stats.external_memory;
              abort.abort();
            }
          })
          .catch(() => {}) // the thread ended
          .finally(() => (reading = false));
      }, EXTERNAL_CHECK_MS);
      watch.unref();
    });
    port1.unref();
    try {
      return (await threads().run(
        { ...input, started: port2 },
        {
          name,
          signal: abort.signal,
          transferList: [...transfer, port2],
        },
      )) as T;
    } catch (error) {
      const e = error as { name?: string; code?: string; message?: string };
      if (external)
        throw permanent(
          `exceeded ${settings.memoryMb} MB of memory outside the JavaScript heap (${Math.round(external / 2 ** 20)} MB of buffers) while ${activity} (TVDB_PARSE_MEMORY_MB)`,
          { cause: error },
        );
      if (e.name === 'AbortError' || e.name === 'TimeoutError')
        throw permanent(`exceeded ${settings.timeoutS} s while ${activity} (TVDB_PARSE_TIMEOUT_S)`, { cause: error });
      if (e.code === 'ERR_WORKER_OUT_OF_MEMORY')
        throw permanent(`exceeded ${settings.memoryMb} MB of memory while ${activity} (TVDB_PARSE_MEMORY_MB)`, {
          cause: error,
        });
      throw permanent(`the worker thread ${activity} this document died (${e.code ?? e.name}: ${e.message})`, {
        cause: error,
      });
    } finally {
      clearTimeout(timer);
      clearInterval(watch);
      port1.close();
    }
  };
  const settled = <T>(result: Done<T> | Failure): T => {
    if (result.ok) return result.value;
    throw new StageError(result.errorClass, result.message);
  };
  // The bytes travel to the thread by transfer, from a copy this module owns (a Buffer may share
  // its memory with others).
  const owned = (bytes: Uint8Array) => {
    const copy = new Uint8Array(bytes);
    return { bytes: copy, transfer: [copy.buffer] };
  };
  return {
    async parse(bytes) {
      const { bytes: copy, transfer } = owned(bytes);
      return settled(await run<Done<ParseOutput> | Failure>('parse', 'parsing', { bytes: copy, zipLimits }, transfer));
    },
    async chunk(input) {
      return settled(await run<Done<ChunkSummary> | Failure>('chunk', 'chunking', input));
    },
    countTokens: (texts) => run('tokens', 'counting tokens', { texts }),
    embedLocal: (texts, dimensions) => run('embedLocal', 'embedding', { texts, dimensions }),
    async pdfPages(bytes) {
      const { bytes: copy, transfer } = owned(bytes);
      return run('pdfPages', 'reading the PDF', { bytes: copy }, transfer);
    },
    async countPages(bytes) {
      const { bytes: copy, transfer } = owned(bytes);
      return settled(
        await run<Done<PageCount> | Failure>('pages', 'counting pages', { bytes: copy, zipLimits }, transfer),
      );
    },
    async close() {
      await pool?.destroy();
      pool = undefined;
    },
  };
}
