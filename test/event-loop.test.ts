// Issue 22 acceptance: "/healthz answers within 200 ms while a hostile search query and a large DOCX
// estimate run". The server (real, on loopback, a paid embedder: the emulator) and the estimate of
// `tvdb ingest --estimate` (estimateFile: page count, local parse, token count) run in this process,
// as they do under `tvdb serve` with workers in it. Before: the query's tokens were counted on the
// server's loop (a U+FEFF sent them to js-tiktoken, quadratic on whitespace: 11.3 s for 10 KB) and
// the DOCX's pages on the worker's (mammoth: 10.6 s for 20 MB of XML).
import test from 'ava';
import { availableParallelism, loadavg } from 'node:os';
import { EmbeddingEmulator } from '../emulators/embeddings.ts';
import { createTestDatabase } from './helpers/database.ts';
import { testPipeline } from './helpers/pipeline.ts';
import { testServer } from './helpers/server.ts';
import { loadConfig } from '../lib/config.ts';
import { createLogger } from '../lib/log.ts';
import { searchDeps } from '../lib/search/search.ts';
import { createCpuPool, cpuSettings } from '../lib/cpu/pool.ts';
import { estimateFile } from '../lib/pipeline/estimateFiles.ts';
import { largeDocx, hostileQuery } from '../bench/largeDocx.ts';

const TOKEN = 'event-loop-test-token-0123456789';

test('/healthz answers within 200 ms while hostile search queries and a large DOCX estimate run', async (t) => {
  const db = await createTestDatabase();
  t.teardown(() => db.drop());
  const emulator = new EmbeddingEmulator();
  await emulator.start();
  t.teardown(() => emulator.stop());
  const env = {
    EMBEDDINGS_PROVIDER: 'openai',
    EMBEDDINGS_API_KEY: 'sk-emulator',
    EMBEDDINGS_BASE_URL: emulator.url,
    EMBEDDINGS_DIMENSIONS: '128',
  };
  const pipeline = testPipeline(db, env);
  t.teardown(() => pipeline.deps.cpu.close());
  const config = loadConfig({ DATABASE_URL: db.url, ...env });
  const serverCpu = createCpuPool({ ...cpuSettings(config), threads: 1 });
  const server = await testServer(db.pool, {
    apiToken: TOKEN,
    search: searchDeps(config, db.pool, createLogger('silent'), undefined, serverCpu),
  });
  t.teardown(() => server.server.close());
  const docx = largeDocx(150_000);
  t.log(`DOCX: ${(docx.length / 2 ** 20).toFixed(1)} MB`);

  // Warm up: the threads load mammoth and the tokenizers once (seconds on a loaded machine).
  const warm = await fetch(`${server.url}/v1/search`, {
    method: 'POST',
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify({ query: 'warm up \ufeff' }),
  });
  t.is(warm.status, 200, await warm.text());

  // Each probe's wall time, and the CPU time this process's main thread spent during it
  // (process.threadCpuUsage): work on the event loop shows in both; a machine so loaded that the
  // process waits for a core (six test runs share two cores here) only in the first.
  const latencies: number[] = [];
  const loopCpu: number[] = [];
  let running = true;
  const probe = (async () => {
    while (running) {
      const started = performance.now();
      const cpu = process.threadCpuUsage();
      const response = await fetch(`${server.url}/healthz`);
      await response.arrayBuffer();
      latencies.push(performance.now() - started);
      const used = process.threadCpuUsage(cpu);
      loopCpu.push((used.user + used.system) / 1000);
      t.is(response.status, 200);
      await new Promise((r) => setTimeout(r, 25));
    }
  })();
  const searches = Array.from({ length: 3 }, async () => {
    const response = await fetch(`${server.url}/v1/search`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ query: hostileQuery(10_000) }),
    });
    return response.status;
  });
  const started = performance.now();
  const [estimate, ...statuses] = await Promise.all([estimateFile(pipeline.deps, 'large.docx', docx), ...searches]);
  const seconds = (performance.now() - started) / 1000;
  running = false;
  await probe;
  t.deepEqual(statuses, [200, 200, 200]);
  t.true(estimate.pages > 10_000, JSON.stringify(estimate)); // counted: 20 MB of XML in a thread
  const worst = Math.max(...latencies);
  const worstCpu = Math.max(...loopCpu);
  const load = loadavg()[0]! / availableParallelism();
  t.log(
    `${latencies.length} /healthz probes over ${seconds.toFixed(1)} s of work (estimate: ${estimate.pages} pages, ${estimate.tokens ?? 'unknown'} tokens${estimate.note ? `; ${estimate.note}` : ''}); slowest answer ${worst.toFixed(0)} ms, most main-thread CPU during one ${worstCpu.toFixed(0)} ms; load ${load.toFixed(1)} per core`,
  );
  t.true(latencies.length >= 10, `${latencies.length} probes`);
  t.true(worstCpu < 200, `the event loop worked ${worstCpu.toFixed(0)} ms during one /healthz`);
  if (load < 1.5) t.true(worst < 200, `slowest /healthz: ${worst.toFixed(0)} ms`);
  else
    t.log(
      `wall time not asserted: the machine's load is ${load.toFixed(1)} per core (it waits for a core, not for the loop)`,
    );
});
