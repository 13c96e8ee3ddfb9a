// What a parser produces, whichever parser it is: Markdown per page (the shape of a LlamaParse
// result), plus pages that failed and the usage to bill.
export type ParsedPage = { page_number: number; markdown: string };
export type FailedPage = { page_number: number; error: string };

export type ParseOutput = {
  pages: ParsedPage[];
  failedPages: FailedPage[];
  /** Pages in the document (for PDFs: the page count, including failed or empty pages). */
  pageCount: number;
};
