// LlamaParse through the official SDK (@llamaindex/llama-cloud, v2 API). We add: a timeout on every
// call, errors classified for our retry policy, our ids in user_metadata, webhook configuration.
// The SDK's own retries are off (maxRetries 0): our stage retries own them, so every attempt is a
// job event, counts towards the circuit breaker, and survives a crash; and an upload retried
// invisibly after a timeout could create (and bill) a second LlamaParse job.
import { createHash } from 'node:crypto';
import type LlamaCloud from '@llamaindex/llama-cloud';
import type { ParsingGetResponse } from '@llamaindex/llama-cloud/resources/parsing';
import { classifyHttpError } from '../../http/classifyHttpError.ts';

export type LlamaParseTier = 'fast' | 'cost_effective' | 'agentic' | 'agentic_plus';
export type LlamaParseJob = ParsingGetResponse;
export type LlamaParseStatus = ParsingGetResponse['job']['status'];

export type LlamaParseConfig = {
  apiKey: string;
  baseURL?: string | undefined;
  tier: LlamaParseTier;
  version?: string;
  timeoutMs: number;
  fetch?: typeof fetch;
};

export type UploadRequest = {
  bytes: Uint8Array;
  fileName: string;
  jobId: string;
  correlationId: string;
  webhook?: { url: string; signingSecret?: string | undefined } | undefined;
  /** The stage run uploading (sent as X-TVDB-Run: tracing, and proof in tests of one run at a time). */
  runId?: string;
  /** page_ranges: LlamaParse parses (and bills) at most maxPages pages, or exactly targetPages. */
  maxPages?: number;
  targetPages?: string;
  /** This upload's own deadline (lib/resilience/callDeadline.ts), at most the configured timeout. */
  timeoutMs?: number;
};

/** A LlamaParse job as the list shows it. */
export type ListedJob = { id: string; status: LlamaParseStatus; createdAt: string | null };

export type LlamaParseClient = {
  /** Identifies what a parse result depends on (tier, version): same bytes + same settings = reuse. */
  readonly settingsKey: string;
  readonly baseURL: string;
  upload(request: UploadRequest): Promise<{ id: string; status: LlamaParseStatus }>;
  get(id: string): Promise<LlamaParseJob>;
  cancel(id: string): Promise<void>;
  /** LlamaParse jobs created since `since` whose user_metadata carries our job id, newest first. */
  findUploads(tvdbJobId: string, since: Date): Promise<ListedJob[]>;
};

export const LLAMA_CLOUD_US = 'https://api.cloud.llamaindex.ai';

export function createLlamaParseClient(config: LlamaParseConfig): LlamaParseClient {
  const version = config.version ?? 'latest';
  // The SDK is loaded on the first call (a process that never calls LlamaParse does not pay for it).
  type Sdk = typeof import('@llamaindex/llama-cloud');
  let sdk: Promise<{ client: LlamaCloud; toFile: Sdk['toFile'] }> | undefined;
  const load = () =>
    (sdk ??= import('@llamaindex/llama-cloud').then(({ default: LlamaCloudSdk, toFile }) => ({
      client: new LlamaCloudSdk({
        apiKey: config.apiKey,
        baseURL: config.baseURL ?? LLAMA_CLOUD_US,
        timeout: config.timeoutMs,
        maxRetries: 0,
        ...(config.fetch ? { fetch: config.fetch } : {}),
      }),
      toFile,
    })));
  const call = async <T>(fn: (sdk: { client: LlamaCloud; toFile: Sdk['toFile'] }) => Promise<T>): Promise<T> => {
    const loaded = await load();
    try {
      return await fn(loaded);
    } catch (error) {
      throw classifyHttpError('LlamaParse', error as Error);
    }
  };
  return {
    settingsKey: createHash('sha256')
      .update(JSON.stringify({ tier: config.tier, version }))
      .digest('hex')
      .slice(0, 16),
    baseURL: config.baseURL ?? LLAMA_CLOUD_US,
    upload: (request) =>
      call(async ({ client, toFile }) => {
        const response = await client.parsing.create(
          {
            tier: config.tier,
            version,
            upload_file: await toFile(Buffer.from(request.bytes), request.fileName),
            user_metadata: { tvdb_job_id: request.jobId, correlation_id: request.correlationId },
            ...(request.maxPages !== undefined || request.targetPages !== undefined
              ? {
                  page_ranges: {
                    ...(request.maxPages !== undefined ? { max_pages: request.maxPages } : {}),
                    ...(request.targetPages !== undefined ? { target_pages: request.targetPages } : {}),
                  },
                }
              : {}),
            ...(request.webhook
              ? {
                  webhook_configurations: [
                    {
                      webhook_url: request.webhook.url,
                      webhook_events: ['parse.success', 'parse.error', 'parse.partial_success', 'parse.cancelled'],
                      webhook_output_format: 'json',
                      ...(request.webhook.signingSecret
                        ? { webhook_signing_secret: request.webhook.signingSecret }
                        : {}),
                    },
                  ],
                }
              : {}),
          },
          {
            ...(request.runId ? { headers: { 'x-tvdb-run': request.runId } } : {}),
            ...(request.timeoutMs ? { timeout: Math.min(request.timeoutMs, config.timeoutMs) } : {}),
          },
        );
        return { id: response.id, status: response.status };
      }),
    get: (id) => call(({ client }) => client.parsing.get(id, { expand: ['markdown', 'usage'] })),
    cancel: (id) =>
      call(async ({ client }) => {
        await client.parsing.cancel(id);
      }),
    findUploads: (tvdbJobId, since) =>
      call(async ({ client }) => {
        const found: ListedJob[] = [];
        for await (const job of client.parsing.list({ created_at_on_or_after: since.toISOString() }))
          if (job.user_metadata?.tvdb_job_id === tvdbJobId)
            found.push({ id: job.id, status: job.status, createdAt: job.created_at ?? null });
        return found.sort((a, b) => Date.parse(b.createdAt ?? '0') - Date.parse(a.createdAt ?? '0'));
      }),
  };
}
