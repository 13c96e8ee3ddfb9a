// Pure: how a provider's HTTP failure should be handled. Shared by the LlamaParse and embedding
// adapters (both SDKs raise errors with .status and .headers).
import { StageError } from '../errors.ts';

const TRANSIENT_STATUS = new Set([408, 409, 425, 429]);

/** Milliseconds to wait from `retry-after-ms` or `Retry-After` (seconds or an HTTP date). */
export function retryAfterMs(headers: Headers | undefined, now = Date.now()): number | undefined {
  if (!headers) return undefined;
  const ms = Number(headers.get('retry-after-ms'));
  if (headers.get('retry-after-ms') !== null && Number.isFinite(ms) && ms >= 0) return ms;
  const value = headers.get('retry-after');
  if (value === null) return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds) && seconds >= 0) return seconds * 1000;
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

export function classifyHttpError(
  service: string,
  error: { status?: number | undefined; headers?: Headers | undefined; message: string; name?: string },
): StageError {
  const status = error.status;
  const detail = error.message.replace(/\s+/g, ' ').slice(0, 300);
  if (status === undefined) {
    const timedOut = /timeout|timed out/i.test(`${error.name} ${error.message}`);
    return new StageError('transient', `${service}: ${timedOut ? 'request timed out' : 'network error'} (${detail})`, {
      cause: error,
    });
  }
  if (status === 402) {
    return new StageError(
      'out_of_credits',
      `${service}: out of credits (402); add credits or raise the plan, then retry`,
      { cause: error, status },
    );
  }
  if (TRANSIENT_STATUS.has(status) || status >= 500) {
    return new StageError('transient', `${service}: HTTP ${status} (${detail})`, {
      cause: error,
      status,
      retryAfterMs: retryAfterMs(error.headers),
    });
  }
  const hint: Record<number, string> = {
    401: 'the API key is missing or wrong: check the key variable',
    403: 'the key has no access to this organization or project',
    404: 'the job is unknown to the provider',
    413: 'the file is larger than the provider accepts',
    415: 'the provider does not accept this file type',
    422: 'the provider rejected the request',
  };
  return new StageError('permanent', `${service}: HTTP ${status}: ${hint[status] ?? 'request refused'} (${detail})`, {
    cause: error,
    status,
  });
}
