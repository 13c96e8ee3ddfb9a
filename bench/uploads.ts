// npm run bench:uploads: 20 concurrent uploads of 50 MB each to `tvdb serve --no-workers` (a real
// process), with the server's RSS sampled from /proc every 50 ms. Target: under 300 MB. Run side by
// side: the same server idle (its baseline RSS), and the same uploads to a server that reads and
// discards the bodies (the ceiling of throughput on this machine). Uploads refused with 429 while
// TVDB_MAX_CONCURRENT_UPLOADS are in progress are retried after Retry-After, as a client should.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';

import { Agent, request } from 'node:http';
import { randomBytes } from 'node:crypto';
import { scratchDatabase } from './harness.ts';
import { freePort } from '../lib/http/freePort.ts';

const UPLOADS = Number(process.env.BENCH_UPLOADS ?? 20);
const FILE_MB = Number(process.env.BENCH_FILE_MB ?? 50);
const TOKEN = 'bench-uploads-token-0123456789';
const TARGET_MB = 300;

const rssMb = (pid: number) => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) / 1024;

// A distinct text file per upload (distinct bytes: each one is stored), streamed in 1 MB pieces.
function* fileBody(i: number, boundary: string): Generator<Buffer> {
  yield Buffer.from(
    `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="big-${i}.txt"\r\nContent-Type: text/plain\r\n\r\n`,
  );
  const line = Buffer.from(`upload ${i} ${randomBytes(8).toString('hex')} `.padEnd(64, '.') + '\n');
  const piece = Buffer.alloc(1024 * 1024);
  for (let o = 0; o < piece.length; o += line.length) line.copy(piece, o);
  for (let m = 0; m < FILE_MB; m++) yield piece;
  yield Buffer.from(`\r\n--${boundary}--\r\n`);
}

function upload(port: number, i: number, agent: Agent): Promise<{ status: number; retries: number; body: string }> {
  return new Promise((resolve, reject) => {
    let retries = 0;
    const attempt = () => {
      const boundary = `bench${i}x${retries}`;
      let answered = false;
      const req = request(
        {
          host: '127.0.0.1',
          port,
          path: '/v1/documents',
          method: 'POST',
          agent,
          headers: { authorization: `Bearer ${TOKEN}`, 'content-type': `multipart/form-data; boundary=${boundary}` },
        },
        (res) => {
          answered = true;
          let text = '';
          res.on('data', (d) => (text += d));
          res.on('end', () => {
            if (res.statusCode === 429) {
              retries += 1;
              req.destroy(); // stop sending the body the server will not read
              setTimeout(attempt, Number(res.headers['retry-after'] ?? 1) * 1000);
            } else resolve({ status: res.statusCode!, retries, body: text });
          });
        },
      );
      req.on('error', (error) => {
        if (answered) return; // the body's write failed after the answer came: nothing to do
        if (retries < 50) (retries++, setTimeout(attempt, 1000));
        else reject(error);
      });
      const body = fileBody(i, boundary);
      const write = () => {
        for (let next = body.next(); !next.done; next = body.next())
          if (!req.write(next.value)) return void req.once('drain', write);
        req.end();
      };
      write();
    };
    attempt();
  });
}

async function measure(label: string, port: number, pid: number) {
  const idle = rssMb(pid);
  let peak = idle;
  const sampler = setInterval(() => (peak = Math.max(peak, rssMb(pid))), 50);
  const agent = new Agent({ keepAlive: false, maxSockets: UPLOADS });
  const started = Date.now();
  const results = await Promise.all(Array.from({ length: UPLOADS }, (_, i) => upload(port, i, agent)));
  const seconds = (Date.now() - started) / 1000;
  clearInterval(sampler);
  const statuses = results.map((r) => r.status).join(',');
  const odd = results.find((r) => r.status !== 200 && r.status !== 202);
  if (odd) console.log(`  an answer: ${odd.status} ${odd.body.slice(0, 300)}`);
  const retries = results.reduce((n, r) => n + r.retries, 0);
  console.log(
    `${label.padEnd(44)} idle ${idle.toFixed(0).padStart(4)} MB  peak ${peak.toFixed(0).padStart(4)} MB  ` +
      `${seconds.toFixed(1).padStart(6)} s  ${((UPLOADS * FILE_MB) / seconds).toFixed(0).padStart(4)} MB/s  ` +
      `429 retries ${retries}  statuses ${[...new Set(statuses.split(','))].join('/')}`,
  );
  return { idle, peak, seconds };
}

function started(child: ChildProcess) {
  return new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (d) => String(d).includes('listening') && resolve());
    child.on('exit', (code) => reject(new Error(`server exited ${code}`)));
  });
}

const db = await scratchDatabase();
try {
  // The ceiling: the same uploads read and discarded by a bare node:http server in its own process.
  const nullPort = await freePort();
  const nullServer = spawn(
    process.execPath,
    [
      '-e',
      `require('node:http').createServer((q, s) => { q.resume(); q.on('end', () => s.end('{}')); }).listen(${nullPort}, '127.0.0.1', () => console.log('listening'))`,
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  await started(nullServer);
  const ceiling = await measure('ceiling: read and discard (node:http)', nullPort, nullServer.pid!);
  nullServer.kill();

  const port = await freePort();
  const serve = spawn(process.execPath, ['bin/tvdb.js', 'serve', '--no-workers'], {
    env: { ...process.env, DATABASE_URL: db.url, PORT: String(port), TVDB_API_TOKEN: TOKEN, LOG_LEVEL: 'error' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  await started(serve);
  const result = await measure(`tvdb serve: ${UPLOADS} x ${FILE_MB} MB, stored in Postgres`, port, serve.pid!);
  serve.kill('SIGTERM');
  console.log(
    `\nserver RSS peak ${result.peak.toFixed(0)} MB (idle ${result.idle.toFixed(0)} MB, +${(result.peak - result.idle).toFixed(0)} MB) ` +
      `against the ${TARGET_MB} MB target: ${result.peak < TARGET_MB ? 'met' : 'NOT met'}; ` +
      `${(ceiling.seconds / result.seconds).toFixed(2)} of the ceiling's throughput`,
  );
  if (result.peak >= TARGET_MB) process.exitCode = 1;
} finally {
  await db.drop();
}
