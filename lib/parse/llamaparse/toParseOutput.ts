// A finished LlamaParse job's Markdown pages as our ParseOutput (pages that failed listed apart).
import { cleanText } from '../cleanText.ts';
import type { ParseOutput } from '../types.ts';
import type { LlamaParseJob } from './client.ts';

export const FINISHED_STATUSES = ['COMPLETED', 'FAILED', 'CANCELLED'] as const;

export function toParseOutput(result: LlamaParseJob): ParseOutput {
  const pages: ParseOutput['pages'] = [];
  const failedPages: ParseOutput['failedPages'] = [];
  for (const page of result.markdown?.pages ?? []) {
    if (page.success) pages.push({ page_number: page.page_number, markdown: cleanText(page.markdown) });
    else failedPages.push({ page_number: page.page_number, error: page.error });
  }
  return { pages, failedPages, pageCount: pages.length + failedPages.length };
}
