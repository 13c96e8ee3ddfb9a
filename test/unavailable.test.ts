// What counts as "the database is away" (the server answers 503; a worker restarts its runner once
// Postgres is back instead of exiting): errors seen while PostgreSQL stops and starts again.
import test from 'ava';
import { isDatabaseUnavailable } from '../lib/db/unavailable.ts';

const pgError = (code: string, message: string) => Object.assign(new Error(message), { code });

test('errors of a stopping, stopped or restarting PostgreSQL are outages, wrapped or not', (t) => {
  const outages = [
    pgError('57P01', 'terminating connection due to administrator command'),
    pgError('57P03', 'the database system is starting up'),
    Object.assign(new Error('wrapped'), { name: 'BackendTerminatedError' }),
    new Error('Connection terminated unexpectedly'),
    new Error('Client has encountered a connection error and is not queryable'),
    new Error('query failed', { cause: pgError('ECONNRESET', 'read ECONNRESET') }),
    // A connect to "localhost" that tried ::1 and 127.0.0.1: an AggregateError of both refusals.
    new AggregateError([pgError('ECONNREFUSED', 'connect ECONNREFUSED ::1:5432'), pgError('ECONNREFUSED', 'x')], ''),
    // The embedded server, stopped: its Unix socket is gone.
    Object.assign(pgError('ENOENT', 'connect ENOENT /data/pg/.s.PGSQL.5433'), { syscall: 'connect' }),
  ];
  for (const error of outages) t.true(isDatabaseUnavailable(error), error.message || error.name);
});

test('errors of the work itself are not outages', (t) => {
  const failures = [
    new TypeError("Cannot read properties of undefined (reading 'id')"),
    pgError('23505', 'duplicate key value violates unique constraint'),
    pgError('TV001', 'illegal transition'),
    new Error('outer', { cause: new RangeError('inner') }),
    new AggregateError([new Error('a'), new Error('b')], 'both failed'),
    Object.assign(pgError('ENOENT', "no such file or directory, open 'x.pdf'"), { syscall: 'open' }),
  ];
  for (const error of failures) t.false(isDatabaseUnavailable(error), error.message);
});
