// A search that cannot be answered, with what the caller should do: the HTTP status and code the
// API answers with, and when to try again for waits (a busy or failing embeddings provider).
export type SearchErrorCode = 'budget_exhausted' | 'embeddings_unavailable' | 'embedding_failed' | 'bad_request';

export class SearchError extends Error {
  override name = 'SearchError';
  readonly status: number;
  readonly code: SearchErrorCode;
  readonly retryAfterS: number | undefined;
  constructor(status: number, code: SearchErrorCode, message: string, retryAfterS?: number) {
    super(message);
    this.status = status;
    this.code = code;
    this.retryAfterS = retryAfterS;
  }
}
