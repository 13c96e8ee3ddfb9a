// Telling a database outage (retry later) from other failures: the server answers 503, workers
// restart their runner once Postgres is back.
type ErrorLike = {
  code?: string;
  syscall?: string;
  name?: string;
  message?: string;
  cause?: unknown;
  errors?: unknown[];
};

/** True for errors that mean "the database is unreachable right now" (answer 503, retry later):
 * the error, its causes, or one of an AggregateError's errors (a connect that tried IPv6 and IPv4). */
export function isDatabaseUnavailable(error: unknown, depth = 0): boolean {
  for (let e = error as ErrorLike | undefined; e && depth < 8; e = e.cause as ErrorLike | undefined, depth++) {
    if (e.code && /^(ECONNREFUSED|ECONNRESET|ETIMEDOUT|EPIPE|ENOTCONN|57P0[1-3]|08\w{3}|53300)$/.test(e.code))
      return true;
    // A server on a Unix socket (the embedded one) that is stopped has no socket file.
    if (e.code === 'ENOENT' && e.syscall === 'connect') return true;
    if (
      e.name === 'ConnectionError' ||
      e.name === 'BackendTerminatedError' ||
      e.name === 'BackendTerminatedUnexpectedlyError'
    )
      return true;
    if (
      /Connection terminated|connect ECONNREFUSED|timeout exceeded when trying to connect|is not queryable|the database system is (starting up|shutting down|in recovery mode)/i.test(
        e.message ?? '',
      )
    )
      return true;
    if (Array.isArray(e.errors) && e.errors.some((inner) => isDatabaseUnavailable(inner, depth + 1))) return true;
  }
  return false;
}
