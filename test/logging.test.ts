import test from 'ava';
import { Writable } from 'node:stream';
import { createLogger, jobLogger } from '../lib/log.ts';

function capture() {
  const lines: Array<Record<string, unknown>> = [];
  const stream = new Writable({
    write(chunk, _enc, done) {
      for (const line of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(line));
      done();
    },
  });
  return { lines, log: createLogger('debug', stream) };
}

test('secrets are redacted by configuration, wherever they appear in a log object', (t) => {
  const { lines, log } = capture();
  log.info({ config: { LLAMA_CLOUD_API_KEY: 'llx-secret-1', DATABASE_URL: 'postgres://u:pw@h/db' } }, 'config');
  log.info({ request: { headers: { authorization: 'Bearer llx-secret-2' } } }, 'call');
  log.info({ client: { apiKey: 'sk-secret-3' }, webhook: { secret: 'whsec-4' } }, 'clients');
  const text = JSON.stringify(lines);
  for (const secret of ['llx-secret-1', 'pw@h', 'llx-secret-2', 'sk-secret-3', 'whsec-4'])
    t.false(text.includes(secret), secret);
  t.is(lines.length, 3);
});

test('every line of a job logger carries correlation_id, job_id and stage', (t) => {
  const { lines, log } = capture();
  const jobLog = jobLogger(log, { correlation_id: 'corr-1', job_id: 'job-1', stage: 'parse' });
  jobLog.info('uploading');
  jobLog.child({ attempt: 2 }).warn('retrying');
  t.is(lines.length, 2);
  for (const line of lines) t.like(line, { correlation_id: 'corr-1', job_id: 'job-1', stage: 'parse' });
});
