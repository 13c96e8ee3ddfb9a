// Parse results are per (document, parser, settings), so identical bytes parsed with the same
// settings are parsed (and paid for) once.
import { sql, type CommonQueryMethods } from 'slonik';
import { z } from 'zod';
import type { ParseOutput } from '../parse/types.ts';

export type ParserIdentity = { parser: 'local' | 'llamaparse'; settingsKey: string };

export const parserIdentity = (p: ParserIdentity): ParserIdentity => ({ parser: p.parser, settingsKey: p.settingsKey });

/** Were bytes with this SHA-256 already parsed with these settings (under any job)? */
export async function hasParseResultFor(db: CommonQueryMethods, sha256: Buffer, who: ParserIdentity): Promise<boolean> {
  const row = await db.maybeOneFirst(sql.type(z.object({ id: z.number() }))`
    select r.id::int from parse_results r join documents d on d.id = r.document_id
    where d.sha256 = ${sql.binary(sha256)} and r.parser = ${who.parser} and r.settings_key = ${who.settingsKey} limit 1`);
  return row !== null;
}

export async function findParseResult(
  db: CommonQueryMethods,
  documentId: number,
  who: ParserIdentity,
): Promise<number | null> {
  return db.maybeOneFirst(sql.type(z.object({ id: z.number() }))`
    select id::int from parse_results where document_id = ${documentId} and parser = ${who.parser} and settings_key = ${who.settingsKey}`);
}

export async function storeParseResult(
  tx: CommonQueryMethods,
  documentId: number,
  who: ParserIdentity,
  output: ParseOutput,
  extra: { credits: number | null; llamaparseJobId: string | null },
): Promise<number> {
  const inserted = await tx.maybeOneFirst(sql.type(z.object({ id: z.number() }))`
    insert into parse_results (document_id, parser, settings_key, page_count, pages_parsed, failed_pages, credits, llamaparse_job_id)
    values (${documentId}, ${who.parser}, ${who.settingsKey}, ${output.pageCount}, ${output.pages.length},
            ${sql.jsonb(output.failedPages as never)}, ${extra.credits}, ${extra.llamaparseJobId})
    on conflict (document_id, parser, settings_key) do nothing
    returning id::int`);
  if (inserted === null) return (await findParseResult(tx, documentId, who))!;
  await tx.query(sql.unsafe`
    insert into parsed_pages (parse_result_id, page_number, markdown)
    select ${inserted}, p.page_number, p.markdown
    from jsonb_to_recordset(${JSON.stringify(output.pages)}::jsonb) as p(page_number int, markdown text)`);
  return inserted;
}

/** The parsed pages as one JSON text ([{page_number, markdown}] in page order), for the chunker's
 * thread: one string through this process instead of a row per page. */
export async function loadParsedPagesJson(db: CommonQueryMethods, parseResultId: number): Promise<string> {
  return db.oneFirst(sql.type(z.object({ pages: z.string() }))`
    select coalesce(json_agg(json_build_object('page_number', page_number, 'markdown', markdown) order by page_number), '[]')::text as pages
    from parsed_pages where parse_result_id = ${parseResultId}`);
}
