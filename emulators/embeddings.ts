// An embeddings emulator: a real HTTP server speaking the OpenAI embeddings contract
// (POST /v1/embeddings: `input` as a string or an array, float or base64 encoding, `dimensions`,
// usage.prompt_tokens counted with cl100k_base), with latency, a requests-per-minute limit and
// faults on demand. Vectors come from the hashing embedder, so they are deterministic.
import { createHash } from 'node:crypto';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import polka from 'polka';
import { z } from 'zod';
import { hashingEmbedding } from '../lib/embed/hashingEmbedder.ts';
import { countTokens } from '../lib/chunk/tokenizer.ts';
import { addAdminRoutes, bearer, readBody, sendJson, sleep } from './http.ts';
import { takeFault } from './takeFault.ts';

export const EmbeddingFaults = z.object({
  rateLimit: z.object({ count: z.number().int().min(0), retryAfterS: z.number().min(0).optional() }).optional(),
  serverErrors: z
    .object({ count: z.number().int().min(0), status: z.number().int().min(500).max(599).default(503) })
    .optional(),
  slowResponses: z.object({ count: z.number().int().min(0), delayMs: z.number().int().min(0) }).optional(),
  unauthorized: z.boolean().optional(),
});
export type EmbeddingFaults = z.infer<typeof EmbeddingFaults>;

export type EmbeddingEmulatorOptions = {
  port?: number;
  host?: string;
  apiKeys?: string[];
  latencyMs?: number;
  /** Requests per minute before 429 (0: unlimited). */
  requestsPerMinute?: number;
  /** OpenAI's documented limits (embeddings-api.md): inputs per request, tokens per input, tokens
   * summed per request. A request over any of them is refused with 400, nothing embedded or billed. */
  maxInputs?: number;
  maxInputTokens?: number;
  maxRequestTokens?: number;
  defaultDimensions?: number;
  faults?: EmbeddingFaults;
};

const Request = z.object({
  model: z.string().min(1),
  input: z.union([z.string(), z.array(z.string()).min(1)]),
  dimensions: z.number().int().positive().max(8192).optional(),
  encoding_format: z.enum(['float', 'base64']).optional(),
  user: z.string().optional(),
});

export type EmbeddingEmulatorStats = {
  requests: number;
  embeddedInputs: number;
  promptTokens: number;
  rejected: number;
};

/** One billed request: who made it (X-TVDB-Run), when, and what it embedded. `endedAt`: when it was
 * answered, or when its caller went away before the answer (a killed process runs no more). */
export type BilledCall = { run: string | null; startedAt: number; endedAt: number; inputs: string[]; tokens: number };

export class EmbeddingEmulator {
  faults: EmbeddingFaults;
  /** Every billed (200) request, in order. */
  readonly billed: BilledCall[] = [];
  /** Every request as it arrived (before latency and faults): who sent it (X-TVDB-Run), when. */
  readonly received: Array<{ run: string | null; at: number }> = [];
  stats: EmbeddingEmulatorStats = { requests: 0, embeddedInputs: 0, promptTokens: 0, rejected: 0 };
  private server?: Server;
  private recent: number[] = [];
  private readonly options: Required<Omit<EmbeddingEmulatorOptions, 'faults'>>;

  constructor(options: EmbeddingEmulatorOptions = {}) {
    this.faults = EmbeddingFaults.parse(options.faults ?? {});
    this.options = {
      port: options.port ?? 0,
      host: options.host ?? '127.0.0.1',
      apiKeys: options.apiKeys ?? ['sk-emulator'],
      latencyMs: options.latencyMs ?? 0,
      requestsPerMinute: options.requestsPerMinute ?? 0,
      maxInputs: options.maxInputs ?? 2048,
      maxInputTokens: options.maxInputTokens ?? 8192,
      maxRequestTokens: options.maxRequestTokens ?? 300_000,
      defaultDimensions: options.defaultDimensions ?? 1536,
    };
  }

  get url(): string {
    const address = this.server?.address() as AddressInfo | null;
    if (!address) throw new Error('emulator not started');
    return `http://${this.options.host}:${address.port}/v1`;
  }

  async start(): Promise<string> {
    countTokens(''); // load the tokenizer now, not inside the first (timed) request
    const app = polka({
      onError: (err, _req, res) =>
        sendJson(res as never, 500, { error: { message: String((err as Error).message), type: 'server_error' } }),
    });
    app.post('/v1/embeddings', async (req, res) => {
      const startedAt = Date.now();
      let callerGoneAt: number | undefined;
      res.on('close', () => {
        if (!res.writableFinished) callerGoneAt ??= Date.now();
      });
      const sender = req.headers['x-tvdb-run'];
      this.received.push({ run: typeof sender === 'string' ? sender : null, at: startedAt });
      const body = await readBody(req);
      this.stats.requests += 1;
      const reject = (
        status: number,
        message: string,
        type: string,
        headers: Record<string, string> = {},
        param: string | null = null,
        code: string | null = null,
      ) => {
        this.stats.rejected += 1;
        sendJson(res, status, { error: { message, type, param, code } }, headers);
      };
      if (this.faults.unauthorized || !this.options.apiKeys.includes(bearer(req) ?? ''))
        return reject(401, 'Incorrect API key provided', 'invalid_request_error');
      if (this.take('slowResponses')) await sleep(this.faults.slowResponses!.delayMs);
      if (this.take('serverErrors'))
        return reject(this.faults.serverErrors!.status, 'The server had an error', 'server_error');
      if (this.take('rateLimit') || this.overRate()) {
        const s = this.faults.rateLimit?.retryAfterS;
        return reject(
          429,
          'Rate limit reached for requests',
          'requests',
          s !== undefined ? { 'retry-after': String(s) } : {},
        );
      }
      let parsed: z.infer<typeof Request>;
      try {
        const result = Request.safeParse(JSON.parse(body.toString('utf8')));
        if (!result.success)
          return reject(
            400,
            result.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '),
            'invalid_request_error',
          );
        parsed = result.data;
      } catch {
        return reject(400, 'We could not parse the JSON body of your request.', 'invalid_request_error');
      }
      const inputs = typeof parsed.input === 'string' ? [parsed.input] : parsed.input;
      // The documented limits, checked before anything is embedded or billed.
      if (inputs.length > this.options.maxInputs)
        return reject(
          400,
          `'$.input' is invalid: at most ${this.options.maxInputs} inputs per request, got ${inputs.length}`,
          'invalid_request_error',
          {},
          'input',
        );
      if (inputs.some((text) => text.length === 0))
        return reject(
          400,
          "'$.input' is invalid: an input cannot be an empty string",
          'invalid_request_error',
          {},
          'input',
        );
      const counts = inputs.map((text) => countTokens(text));
      const longest = Math.max(...counts);
      if (longest > this.options.maxInputTokens)
        return reject(
          400,
          `This model's maximum context length is ${this.options.maxInputTokens} tokens, however you requested ${longest} tokens (${longest} in your prompt; 0 for the completion). Please reduce your prompt; or completion length.`,
          'invalid_request_error',
        );
      const tokens = counts.reduce((n, c) => n + c, 0);
      if (tokens > this.options.maxRequestTokens)
        return reject(
          400,
          `Requested ${tokens} tokens, max ${this.options.maxRequestTokens} tokens per request`,
          'invalid_request_error',
          {},
          null,
          'max_tokens_per_request',
        );
      if (this.options.latencyMs) await sleep(this.options.latencyMs);
      const dimensions = parsed.dimensions ?? this.options.defaultDimensions;
      const data = inputs.map((text, index) => {
        const vector = hashingEmbedding(text, dimensions);
        const embedding =
          parsed.encoding_format === 'base64'
            ? Buffer.from(new Float32Array(vector).buffer).toString('base64')
            : vector;
        return { object: 'embedding', index, embedding };
      });
      this.stats.embeddedInputs += inputs.length;
      this.stats.promptTokens += tokens;
      const run = req.headers['x-tvdb-run'];
      this.billed.push({
        run: typeof run === 'string' ? run : null,
        startedAt,
        endedAt: callerGoneAt ?? Date.now(),
        inputs: inputs.map((text) => createHash('sha256').update(text).digest('hex')),
        tokens,
      });
      sendJson(res, 200, {
        object: 'list',
        data,
        model: parsed.model,
        usage: { prompt_tokens: tokens, total_tokens: tokens },
      });
    });
    addAdminRoutes(app, this, EmbeddingFaults, 'error');
    await new Promise<void>((resolve) => app.listen({ port: this.options.port, host: this.options.host }, resolve));
    this.server = app.server as Server;
    return this.url;
  }

  async stop(): Promise<void> {
    if (!this.server) return;
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server!.close(() => resolve()));
  }

  private take(name: 'rateLimit' | 'serverErrors' | 'slowResponses'): boolean {
    return takeFault(this.faults, name);
  }

  private overRate(): boolean {
    if (!this.options.requestsPerMinute) return false;
    const now = Date.now();
    this.recent = this.recent.filter((t) => now - t < 60_000);
    if (this.recent.length >= this.options.requestsPerMinute) return true;
    this.recent.push(now);
    return false;
  }
}
