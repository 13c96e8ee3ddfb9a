// Telling a database outage (retry later) from other failures: the server answers 503, workers
// restart their runner once Postgres is back.
/** True for errors that mean "the database is unreachable right now" (answer 503, retry later). */
export function isDatabaseUnavailable(error: unknown): boolean {
  for (
    let e = error as { code?: string; name?: string; message?: string; cause?: unknown } | undefined;
    e;
    e = e.cause as typeof e
  ) {
    if (e.code && /^(ECONNREFUSED|ECONNRESET|ETIMEDOUT|EPIPE|57P0[1-3]|08\w{3}|53300)$/.test(e.code)) return true;
    if (
      e.name === 'ConnectionError' ||
      e.name === 'BackendTerminatedError' ||
      e.name === 'BackendTerminatedUnexpectedlyError'
    )
      return true;
    if (/Connection terminated|connect ECONNREFUSED|timeout exceeded when trying to connect/i.test(e.message ?? ''))
      return true;
  }
  return false;
}
