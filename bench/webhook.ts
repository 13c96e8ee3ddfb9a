// npm run bench:webhook: signed LlamaParse deliveries per second and p50/p99 latency at 64
// connections against `tvdb serve --no-workers` (each delivery: checks, one row, one enqueue),
// and against the same server answering 200 with no database work (the ceiling on this machine).
import { spawn } from 'node:child_process';
import { Agent, request } from 'node:http';
import { randomUUID } from 'node:crypto';
import { sql } from 'slonik';
import { scratchDatabase, percentile } from './harness.ts';
import { createDatabasePool } from '../lib/db/database.ts';
import { signBody } from '../lib/webhooks/signature.ts';
import { freePort } from '../lib/http/freePort.ts';

const CONNECTIONS = 64;
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const JOBS = 500;
const SECRET = 'whsec-bench';

const db = await scratchDatabase();
// The fixtures as the owner: the application role moves a job only through advance_job (issue 22);
// the server under measure connects as the application role.
const pool = await createDatabasePool(db.ownerUrl, 4);
// Jobs waiting for LlamaParse, each with its webhook token and LlamaParse id.
await pool.query(sql.unsafe`
  with doc as (insert into documents (sha256, byte_size, media_type, content) values (sha256('bench'), 5, 'text/plain', 'bench') returning id)
  insert into jobs (document_id, file_name, correlation_id, webhook_token, llamaparse_job_id, parse_submitted_at)
  select doc.id, 'bench-' || n, 'corr-' || n, 'tok' || md5(n::text) || md5((n + 1)::text), 'lp-' || n, now()
  from doc, generate_series(1, ${JOBS}) n`);
await pool.query(sql.unsafe`update jobs set state = 'parse_queued'`);
await pool.end();

async function run(label: string, command: string[], env: NodeJS.ProcessEnv) {
  const port = await freePort();
  const child = spawn(process.execPath, command, {
    env: { ...process.env, ...env, PORT: String(port), LOG_LEVEL: 'error' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (d) => String(d).includes('listening') && resolve());
    child.on('exit', (code) => reject(new Error(`${label} exited ${code}`)));
  });
  const agent = new Agent({ keepAlive: true, maxSockets: CONNECTIONS });
  const latencies: number[] = [];
  let errors = 0;
  let n = 0;
  const end = Date.now() + SECONDS * 1000;
  const send = () =>
    new Promise<void>((resolve) => {
      n += 1;
      const job = 1 + (n % JOBS);
      const body = JSON.stringify({
        event_id: randomUUID(),
        event_type: n % 4 === 0 ? 'parse.success' : 'parse.running',
        timestamp: Date.now() / 1000,
        data: { id: `lp-${job}`, job_id: `lp-${job}` },
      });
      const token = `tok${md5hex(job)}`;
      const started = performance.now();
      const req = request(
        {
          host: '127.0.0.1',
          port,
          method: 'POST',
          path: `/webhooks/llamaparse/${token}`,
          agent,
          headers: {
            'content-type': 'application/json',
            'lc-signature': signBody(body, SECRET),
            'content-length': Buffer.byteLength(body),
          },
        },
        (res) => {
          res.resume();
          res.on('end', () => {
            if (res.statusCode === 200) latencies.push(performance.now() - started);
            else errors += 1;
            resolve();
          });
        },
      );
      req.on('error', () => ((errors += 1), resolve()));
      req.end(body);
    });
  const started = performance.now();
  await Promise.all(
    Array.from({ length: CONNECTIONS }, async () => {
      while (Date.now() < end) await send();
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  child.kill('SIGTERM');
  agent.destroy();
  latencies.sort((a, b) => a - b);
  return {
    label,
    rps: latencies.length / seconds,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    ok: latencies.length,
    errors,
  };
}

// Tokens as the SQL above made them: 'tok' || md5(n) || md5(n + 1).
import { createHash } from 'node:crypto';
function md5hex(n: number) {
  return (
    createHash('md5').update(String(n)).digest('hex') +
    createHash('md5')
      .update(String(n + 1))
      .digest('hex')
  );
}

try {
  const env = { DATABASE_URL: db.url, LLAMAPARSE_WEBHOOK_SECRET: SECRET, TVDB_DB_POOL_SIZE: '16' };
  const ceiling = await run('no database work', ['bench/nullServer.ts'], env);
  const real = await run('tvdb serve', ['bin/tvdb.js', 'serve', '--no-workers'], env);
  const rows = [ceiling, real].map(
    (r) => `| ${r.label} | ${r.rps.toFixed(0)} | ${r.p50.toFixed(1)} | ${r.p99.toFixed(1)} | ${r.ok} | ${r.errors} |`,
  );
  console.log(`\nbench:webhook, ${CONNECTIONS} connections, ${SECONDS} s each, signed deliveries (HMAC-SHA256)\n`);
  console.log('| server | deliveries/s | p50 ms | p99 ms | ok | errors |\n|---|---|---|---|---|---|');
  console.log(rows.join('\n'));
  console.log(`\nratio (tvdb serve / ceiling): ${(real.rps / ceiling.rps).toFixed(2)}`);
} finally {
  await db.drop();
}
