// A search: the query embedded (and paid for, when the provider is paid), the nearest contents by
// vector, the best by full-text search, or both fused by reciprocal rank; then what each found
// content shows (document, pages, heading path). Used by `tvdb search` and POST /v1/search.
import { randomUUID } from 'node:crypto';
import type { DatabasePool } from 'slonik';
import type { Config } from '../config.ts';
import { chooseEmbedder } from '../embed/chooseEmbedder.ts';
import type { EmbeddingProvider } from '../embed/provider.ts';
import type { Logger } from '../log.ts';
import { breakerSettings, type BreakerSettings } from '../resilience/breakers.ts';
import { embedQuery } from './embedQuery.ts';
import { fuseRankings, type Ranked } from './fuseRankings.ts';
import { loadHits } from './loadHits.ts';
import { nearestContents, type VectorMethod } from './nearestContents.ts';
import type { SearchFilters } from './searchFilters.ts';
import { textCandidates } from './textCandidates.ts';
import type { CpuPool } from '../cpu/pool.ts';

export const SEARCH_MODES = ['vector', 'text', 'hybrid'] as const;
export type SearchMode = (typeof SEARCH_MODES)[number];

/** How deep each list goes before fusion: enough that a content ranked well by one list and
 * poorly by the other is still seen by both. */
export const FUSION_DEPTH = 50;

export type SearchDeps = {
  pool: DatabasePool;
  log: Logger;
  embedder: EmbeddingProvider;
  breaker: BreakerSettings;
  efSearch: number;
  /** Searches over at most this many chunks read every vector (exact) even with an HNSW index. */
  exactBelow: number;
  textLanguage: string;
  /** How long a query's budget hold lasts if the process dies before settling it. */
  reservationTtlS: number;
  /** CPU threads that count the query's tokens (the server's: client input is never tokenised on
   * its event loop); without them (the CLI) the count runs in-process. */
  cpu?: Pick<CpuPool, 'countTokens' | 'close'>;
};

export function searchDeps(
  config: Config,
  pool: DatabasePool,
  log: Logger,
  embedder = chooseEmbedder(config),
  cpu?: SearchDeps['cpu'],
): SearchDeps {
  return {
    pool,
    log,
    embedder,
    breaker: breakerSettings(config),
    efSearch: config.TVDB_HNSW_EF_SEARCH,
    exactBelow: config.TVDB_SEARCH_EXACT_BELOW,
    textLanguage: config.TVDB_TEXT_SEARCH_LANGUAGE,
    reservationTtlS: Math.ceil(config.EMBEDDINGS_TIMEOUT_MS / 1000) + 60,
    cpu,
  };
}

export type SearchRequest = {
  query: string;
  k: number;
  mode: SearchMode;
  minScore?: number | undefined;
  filters: SearchFilters;
  correlationId?: string | undefined;
};

export type SearchResult = {
  rank: number;
  score: number;
  vector_score: number | null;
  text_score: number | null;
  job_id: string;
  document_id: number;
  file_name: string;
  correlation_id: string;
  page_start: number;
  page_end: number;
  heading_path: string[];
  content: string;
};

export type SearchResponse = {
  request_id: string;
  query: string;
  mode: SearchMode;
  k: number;
  model: string | null;
  dimensions: number | null;
  /** How vectors were searched: the HNSW index, every vector, or not at all (text mode). */
  vector_search: VectorMethod | null;
  ef_search: number | null;
  cost_micro_usd: number;
  took_ms: number;
  results: SearchResult[];
};

export async function search(deps: SearchDeps, request: SearchRequest): Promise<SearchResponse> {
  const started = performance.now();
  const requestId = randomUUID();
  const { mode, k, filters } = request;
  const depth = mode === 'hybrid' ? Math.max(k, FUSION_DEPTH) : k;
  const space = { model: deps.embedder.model, dimensions: deps.embedder.dimensions };
  const vectorSide = async () => {
    if (mode === 'text') return null;
    const { vector, costMicroUsd } = await embedQuery(deps, request.query, {
      requestId,
      correlationId: request.correlationId ?? requestId,
    });
    const found = await nearestContents(deps.pool, { space, vector, limit: depth, filters }, deps);
    return { ...found, costMicroUsd };
  };
  const textSide = async () =>
    mode === 'vector'
      ? null
      : textCandidates(deps.pool, { text: request.query, language: deps.textLanguage, limit: depth, filters });
  // Both sides at once; neither is left running when the other fails.
  const [vectorOutcome, textOutcome] = await Promise.allSettled([vectorSide(), textSide()]);
  if (vectorOutcome.status === 'rejected') throw vectorOutcome.reason;
  if (textOutcome.status === 'rejected') throw textOutcome.reason;
  const [vectors, texts] = [vectorOutcome.value, textOutcome.value];

  const vectorScores = new Map(vectors?.candidates.map((c) => [c.sha, c.score]));
  const textScores = new Map(texts?.map((c) => [c.sha, c.score]));
  const ranked: Ranked[] =
    mode === 'hybrid' ? fuseRankings([vectors!.candidates, texts!]) : [...(vectors?.candidates ?? texts ?? [])];
  const top = ranked.filter((r) => request.minScore === undefined || r.score >= request.minScore).slice(0, k);
  const hits = new Map(
    (
      await loadHits(
        deps.pool,
        top.map((r) => r.sha),
        filters,
      )
    ).map((h) => [h.sha, h]),
  );
  const results: SearchResult[] = [];
  for (const r of top) {
    const hit = hits.get(r.sha);
    if (!hit) continue; // its job stopped being searchable between the two queries
    const { sha: _sha, ...shown } = hit;
    results.push({
      rank: results.length + 1,
      score: r.score,
      vector_score: vectorScores.get(r.sha) ?? null,
      text_score: textScores.get(r.sha) ?? null,
      ...shown,
    });
  }
  return {
    request_id: requestId,
    query: request.query,
    mode,
    k,
    model: vectors ? space.model : null,
    dimensions: vectors ? space.dimensions : null,
    vector_search: vectors?.method ?? null,
    ef_search: vectors?.method === 'hnsw' ? deps.efSearch : null,
    cost_micro_usd: vectors?.costMicroUsd ?? 0,
    took_ms: Math.round((performance.now() - started) * 10) / 10,
    results,
  };
}
