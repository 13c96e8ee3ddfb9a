// POST /v1/search: a JSON query (text, k, mode, minimum score, filters) answered with the best
// chunks of completed documents. The request and response are zod schemas, so that they can be
// described (OpenAPI) from here. The query is embedded by the configured provider (a paid one
// within the budgets, billed in the ledger); optional X-Correlation-ID marks that ledger row.
import type { Request, Response } from 'polka';
import { z } from 'zod';
import { search, SEARCH_MODES, type SearchResponse } from '../lib/search/search.ts';
import { SearchError } from '../lib/search/searchError.ts';
import type { ServerContext } from './context.ts';
import { json } from './http.ts';
import { parsed, readJsonBody } from './jsonBody.ts';
import { declareRoute, ErrorBody, errorResponses } from './routeRegistry.ts';

export const SearchRequestBody = z
  .object({
    query: z.string().trim().min(1).max(10_000).describe('what to search for'),
    k: z.number().int().min(1).max(1000).default(10).describe('how many results at most'),
    mode: z
      .enum(SEARCH_MODES)
      .default('hybrid')
      .describe('vector (embedding similarity), text (full-text search) or hybrid (both, fused by rank)'),
    min_score: z.number().min(-1).max(1).optional().describe('only results whose score is at least this'),
    file_name: z
      .string()
      .min(1)
      .max(1024)
      .optional()
      .describe('only documents with this name; * and ? are wildcards; without "/" the last path segment is matched'),
    job_ids: z.array(z.uuid()).min(1).max(1000).optional().describe('only these jobs'),
    correlation_id: z.string().min(1).max(200).optional().describe('only jobs ingested with this correlation id'),
  })
  .strict()
  .meta({ id: 'SearchRequest', description: 'a search: only `query` is required; unknown fields are refused' });
export type SearchRequestBody = z.infer<typeof SearchRequestBody>;

export const SearchResultBody = z
  .object({
    rank: z.number().int(),
    score: z.number().describe('hybrid: fused rank score, 0-1; vector: cosine similarity; text: ts_rank_cd, 0-1'),
    vector_score: z.number().nullable().describe('cosine similarity, when the vector search found it'),
    text_score: z.number().nullable().describe('full-text rank, when the text search found it'),
    job_id: z.uuid(),
    document_id: z.number().int(),
    file_name: z.string(),
    correlation_id: z.string(),
    page_start: z.number().int(),
    page_end: z.number().int(),
    heading_path: z.array(z.string()),
    content: z.string(),
  })
  .meta({ id: 'SearchResult', description: 'one chunk found, with its document, pages and heading path' });

export const SearchResponseBody = z
  .object({
    request_id: z.uuid(),
    query: z.string(),
    mode: z.enum(SEARCH_MODES),
    k: z.number().int(),
    model: z.string().nullable(),
    dimensions: z.number().int().nullable(),
    vector_search: z.enum(['hnsw', 'exact']).nullable().describe('how vectors were searched; null in text mode'),
    ef_search: z.number().int().nullable(),
    cost_micro_usd: z.number().int().describe('what embedding the query cost'),
    took_ms: z.number(),
    results: z.array(SearchResultBody),
  })
  .meta({ id: 'SearchResponse' });

// The route answers with what lib/search returns: a compile-time check that the schema says so.
const _sameShape: z.infer<typeof SearchResponseBody> = {} as SearchResponse;
void _sameShape;

const CorrelationHeader = z.object({
  'x-correlation-id': z
    .string()
    .min(1)
    .max(200)
    .regex(/^[\w.:-]+$/, 'letters, digits and . _ : - only')
    .optional()
    .describe('marks the ledger row of a paid query embedding'),
});

export function searchRoute(ctx: ServerContext) {
  return async (req: Request, res: Response) => {
    const headers = parsed(res, CorrelationHeader, { 'x-correlation-id': req.headers['x-correlation-id'] });
    if (!headers) return;
    const b = await readJsonBody(req, res, SearchRequestBody);
    if (!b) return;
    try {
      const response = await search(ctx.search, {
        query: b.query,
        k: b.k,
        mode: b.mode,
        minScore: b.min_score,
        filters: { fileName: b.file_name, jobIds: b.job_ids, correlationId: b.correlation_id },
        correlationId: headers['x-correlation-id'],
      });
      json(res, 200, response);
    } catch (error) {
      if (!(error instanceof SearchError)) throw error;
      const retry: Record<string, string> =
        error.retryAfterS === undefined ? {} : { 'retry-after': String(error.retryAfterS) };
      json(res, error.status, { error: error.code, message: error.message }, retry);
    }
  };
}

declareRoute({
  method: 'post',
  path: '/v1/search',
  summary: 'the best chunks of completed documents for a query: vector, full-text or hybrid search',
  description:
    'The query is embedded by the configured provider (text mode excepted); a paid embedding is reserved ' +
    'within the budgets and billed in the ledger (operation embed_query).',
  tags: ['search'],
  security: 'bearer',
  request: {
    headers: CorrelationHeader,
    body: { contentType: 'application/json', schema: SearchRequestBody, required: true },
  },
  responses: {
    200: { description: 'the results, best first', schema: SearchResponseBody },
    402: { description: 'no budget left to embed the query (nothing was called)', schema: ErrorBody },
    502: { description: 'the embeddings provider refused the query', schema: ErrorBody },
    ...errorResponses(400, 401, 413, 415),
    503: {
      description:
        'the database, or the embeddings provider (open breaker, rate limit, failure: see Retry-After), is unavailable',
      schema: ErrorBody,
    },
  },
});
