// The contents that best match a query by PostgreSQL full-text search (chunks.text_search, GIN
// index), ranked by ts_rank_cd (cover density: matched terms that occur close together count more),
// normalised by the chunk's length and scaled into [0, 1). A plain query matches chunks holding ANY
// of its words, most matches first (a question rarely shares every word with its answer); a query
// written in web-search syntax ("quoted phrase", -exclusion) is taken as written.
import { sql, type CommonQueryMethods } from 'slonik';
import { z } from 'zod';
import { jobConditions, type SearchFilters } from './searchFilters.ts';

export type TextQuery = { text: string; language: string; limit: number; filters: SearchFilters };

/** Does the query use web-search operators? pure. */
export const usesSearchSyntax = (text: string) => /"|(^|\s)-\S/.test(text);

export function tsQuery(text: string, language: string) {
  const written = sql.fragment`websearch_to_tsquery(${language}::regconfig, ${text})`;
  // websearch_to_tsquery joins words with &; the same query with | matches any of them.
  return usesSearchSyntax(text) ? written : sql.fragment`replace(${written}::text, ' & ', ' | ')::tsquery`;
}

const Candidate = z.object({ sha: z.string(), score: z.number() });

export async function textCandidates(db: CommonQueryMethods, q: TextQuery) {
  return db.any(sql.type(Candidate)`
    select encode(c.content_sha256, 'hex') as sha, max(ts_rank_cd(c.text_search, t.query, 1 | 32))::float8 as score
    from (select ${tsQuery(q.text, q.language)} as query) t
    join chunks c on c.text_search @@ t.query
    join jobs j on j.id = c.job_id and ${jobConditions(q.filters)}
    group by c.content_sha256
    order by score desc, c.content_sha256
    limit ${q.limit}`);
}
