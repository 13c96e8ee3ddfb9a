// In-process pipeline for tests: real workers (graphile-worker) on a test database, with the
// configuration a test chooses, and logs captured for assertions.
import { Writable } from 'node:stream';
import { sql, type DatabasePool } from 'slonik';
import { z } from 'zod';
import { loadConfig } from '../../lib/config.ts';
import { createLogger } from '../../lib/log.ts';
import { buildDeps } from '../../worker/buildDeps.ts';
import { intakePolicy } from '../../lib/intake/intakePolicy.ts';
import type { PipelineDeps } from '../../lib/pipeline/deps.ts';
import { startWorkers, type StartedWorkers } from '../../worker/startWorkers.ts';
import { ingestDocument, type IntakeResult } from '../../lib/intake/ingestDocument.ts';
import { createTestDatabase, type TestDatabase } from './database.ts';
import type { ExecutionContext } from 'ava';
import { LlamaParseEmulator, type LlamaParseEmulatorOptions } from '../../emulators/llamaparse/index.ts';

export type TestPipeline = {
  deps: PipelineDeps;
  logs: Array<Record<string, unknown>>;
  runner?: StartedWorkers;
  start(): Promise<void>;
  stop(): Promise<void>;
};

export function testPipeline(db: TestDatabase, env: Record<string, string> = {}): TestPipeline {
  const logs: Array<Record<string, unknown>> = [];
  const stream = new Writable({
    write(chunk, _e, done) {
      for (const line of String(chunk).split('\n').filter(Boolean)) logs.push(JSON.parse(line));
      done();
    },
  });
  const config = loadConfig({ DATABASE_URL: db.url, TVDB_POLL_INTERVAL_MS: '200', ...env });
  const deps = buildDeps(config, db.pool, createLogger('debug', stream));
  const pipeline: TestPipeline = {
    deps,
    logs,
    async start() {
      pipeline.runner = await startWorkers(deps, db.url, { concurrency: 2 });
    },
    async stop() {
      await pipeline.runner?.stop();
      await deps.cpu.close();
    },
  };
  return pipeline;
}

export async function ingest(
  deps: PipelineDeps,
  files: Array<{ name: string; bytes: Uint8Array }>,
  correlationId?: string,
) {
  const results: IntakeResult[] = [];
  for (const f of files)
    results.push(
      await ingestDocument(deps.pool, { bytes: f.bytes, fileName: f.name, correlationId }, intakePolicy(deps)),
    );
  return results;
}

const StateRow = z.object({
  id: z.string(),
  state: z.string(),
  last_error: z.string().nullable(),
  file_name: z.string(),
});

export { waitForTerminal } from '../../lib/jobs/waitForTerminal.ts';

export async function waitForState(pool: DatabasePool, id: string, state: string, timeoutMs = 30_000) {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const row = await pool.one(
      sql.type(StateRow)`select id::text, state::text, last_error, file_name from jobs where id = ${id}::uuid`,
    );
    if (row.state === state) return row;
    if (Date.now() > end)
      throw new Error(`job ${id} is ${row.state}, not ${state}, after ${timeoutMs} ms (${row.last_error ?? ''})`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export async function eventTrail(pool: DatabasePool, id: string) {
  return pool.anyFirst(sql.type(z.object({ s: z.string() }))`
    select to_state::text as s from job_events where job_id = ${id}::uuid and kind <> 'note' order by id`);
}

/** A test database, a LlamaParse emulator and an in-process pipeline pointed at it, torn down with the test. */
export async function llamaParseSetup(
  t: ExecutionContext,
  options: { env?: Record<string, string>; emulator?: LlamaParseEmulatorOptions; poolSize?: number } = {},
) {
  const db = await createTestDatabase(options.poolSize ? { poolSize: options.poolSize } : {});
  const llama = new LlamaParseEmulator({ startDelayMs: 5, perPageDelayMs: 1, ...options.emulator });
  await llama.start();
  const pipeline = testPipeline(db, {
    LLAMA_CLOUD_API_KEY: 'llx-emulator',
    LLAMA_CLOUD_BASE_URL: llama.url,
    ...options.env,
  });
  t.teardown(async () => {
    await pipeline.stop();
    await llama.stop();
    await db.drop();
  });
  return { db, llama, pipeline };
}
