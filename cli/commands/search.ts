import { printable } from '../../lib/format.ts';
import { parseCommandArgs, UsageError, type Command } from '../command.ts';
import { withRuntime } from '../runtime.ts';
import { search, searchDeps, SEARCH_MODES, type SearchMode, type SearchResponse } from '../../lib/search/search.ts';
import { checkTextSearchLanguage } from '../../lib/search/textSearchLanguage.ts';
import { pgvectorState } from '../../lib/vectors/pgvector.ts';
import { findHnswIndex } from '../../lib/vectors/vectorIndexes.ts';

const command: Command = {
  usage: `Usage: tvdb search "<text>" [-k N] [--mode vector|text|hybrid] [--min-score S]
                   [--file-name NAME] [--job-id ID]... [--correlation-id ID] [--json]

Lists the N (default 10) best chunks of completed documents for the text, with file name, pages,
heading path and score.
  --mode hybrid   (default) vector and full-text results fused by reciprocal rank; score 0-1
  --mode vector   nearest by embedding (cosine similarity, -1 to 1); the text is embedded by the
                  configured embedder (paid providers: billed and within budget, like ingestion)
  --mode text     PostgreSQL full-text search (TVDB_TEXT_SEARCH_LANGUAGE); score 0-1
  --min-score S   only results scoring at least S
  --file-name     only documents with this name; * and ? are wildcards; without a "/" the
                  pattern is matched against the last path segment (--file-name '*.pdf')
  --job-id        only these jobs (repeat the flag for several)
  --correlation-id  only jobs ingested with this correlation id
  --json          the API's response object (see README: POST /v1/search)
With the local embedder the vector match is lexical (shared words), not semantic.`,
  async run(argv) {
    const { values, positionals } = parseCommandArgs(argv, {
      options: {
        k: { type: 'string', short: 'k' },
        mode: { type: 'string' },
        'min-score': { type: 'string' },
        'file-name': { type: 'string' },
        'job-id': { type: 'string', multiple: true },
        'correlation-id': { type: 'string' },
        json: { type: 'boolean' },
      },
      allowPositionals: true,
    });
    const text = positionals.join(' ').trim();
    if (!text) throw new UsageError('give the text to search for');
    const k = Number(values.k ?? 10);
    if (!Number.isInteger(k) || k < 1 || k > 1000) throw new UsageError('-k takes a whole number from 1 to 1000');
    const mode = (values.mode ?? 'hybrid') as SearchMode;
    if (!SEARCH_MODES.includes(mode)) throw new UsageError(`--mode takes ${SEARCH_MODES.join(', ')}`);
    const minScore = values['min-score'] === undefined ? undefined : Number(values['min-score']);
    if (minScore !== undefined && !(Number.isFinite(minScore) && minScore >= -1 && minScore <= 1))
      throw new UsageError('--min-score takes a number from -1 to 1');
    const jobIds = values['job-id'] ?? [];
    const badId = jobIds.find((id) => !/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(id));
    if (badId) throw new UsageError(`--job-id takes a job id (a UUID), got "${badId}"`);
    return withRuntime({ poolSize: 3 }, async ({ config, pool, log }) => {
      await checkTextSearchLanguage(pool, config.TVDB_TEXT_SEARCH_LANGUAGE);
      const response = await search(searchDeps(config, pool, log), {
        query: text,
        k,
        mode,
        minScore,
        filters: { fileName: values['file-name'], jobIds, correlationId: values['correlation-id'] },
      });
      if (values.json) {
        process.stdout.write(JSON.stringify(response) + '\n');
        return 0;
      }
      process.stdout.write(render(response));
      // Exact by design below TVDB_SEARCH_EXACT_BELOW; exact for want of an index is worth a word.
      const space = { model: response.model ?? '', dimensions: response.dimensions ?? 0 };
      if (
        response.vector_search === 'exact' &&
        (await pgvectorState(pool)).available &&
        !(await findHnswIndex(pool, space))?.valid
      )
        process.stderr.write(
          `hint: pgvector is installed on this server; "tvdb vectors reindex" builds an HNSW index that makes vector search fast\n`,
        );
      return 0;
    });
  },
};
export default command;

function render(response: SearchResponse): string {
  const lines: string[] = [];
  if (!response.results.length)
    lines.push(
      response.mode === 'text'
        ? 'no results'
        : `no results (no completed documents embedded with ${response.model} yet?)`,
    );
  for (const hit of response.results) {
    const pages = hit.page_start === hit.page_end ? `p. ${hit.page_start}` : `pp. ${hit.page_start}-${hit.page_end}`;
    const where = hit.heading_path.length ? `  § ${hit.heading_path.join(' › ')}` : '';
    const excerpt = hit.content.replace(/\s+/g, ' ').slice(0, 200);
    lines.push(
      `${hit.rank}. ${hit.score.toFixed(3)}  ${printable(hit.file_name)}  ${pages}${where}`,
      `   ${excerpt}${hit.content.length > 200 ? '…' : ''}`,
    );
  }
  const how =
    response.vector_search === 'hnsw'
      ? `, vectors by HNSW index (ef_search ${response.ef_search})`
      : response.vector_search === 'exact'
        ? ', vectors by exact scan'
        : '';
  const cost = response.cost_micro_usd ? `, query embedding ${response.cost_micro_usd} micro-USD` : '';
  lines.push(`(${response.mode} search${how}, ${response.took_ms} ms${cost})`, '');
  return lines.join('\n');
}
