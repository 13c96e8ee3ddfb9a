// npm run bench:outbox: what outbound webhooks cost. (1) A job's move with nobody subscribed (the
// baseline), with one and with three subscriptions: the trigger writes the event, its messages
// and their delivery tasks in the move's transaction. (2) Delivery by real workers to a local
// receiver answering 200 at once, against the ceiling of the same signed POSTs sent by one
// process with no database work. BENCH_MOVES_JOBS (300 jobs x 8 moves), BENCH_EVENTS (2000).
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { sql } from 'slonik';
import { z } from 'zod';
import { createDatabasePool } from '../lib/db/database.ts';
import { loadConfig } from '../lib/config.ts';
import { createLogger } from '../lib/log.ts';
import { addSubscription } from '../lib/outbox/addSubscription.ts';
import { resolveDestination } from '../lib/outbox/destination.ts';
import { postWebhook } from '../lib/outbox/postWebhook.ts';
import { standardWebhookHeaders } from '../lib/outbox/signature.ts';
import { buildDeps } from '../worker/buildDeps.ts';
import { startWorkers } from '../worker/startWorkers.ts';
import { scratchDatabase } from './harness.ts';

const MOVE_JOBS = Number(process.env.BENCH_MOVES_JOBS ?? 300);
const EVENTS = Number(process.env.BENCH_EVENTS ?? 2000);
const CONCURRENCY = 4;

const db = await scratchDatabase();
const pool = await createDatabasePool(db.url, 6);
const owner = await createDatabasePool(db.ownerUrl, 1); // creates the bench's helper function (the application role may not)
let received = 0;
const receiver = createServer((req, res) => {
  req.resume();
  req.on('end', () => {
    received++;
    res.end('ok');
  });
});
await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', () => r()));
const url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
try {
  await pool.query(sql.unsafe`
    insert into documents (sha256, byte_size, media_type, content) values (sha256('bench'), 5, 'text/plain', 'bench')`);
  // Moves timed inside the server (no client round trips): microseconds per move; run by the
  // application role, as the pipeline moves jobs.
  await owner.query(sql.unsafe`
    create function bench_moves(n int) returns float8 language plpgsql as $$
    declare t0 timestamptz; j uuid; i int; k int;
      path job_state[] := array['uploaded','parse_queued','parsed','chunking','chunks_stored','embedding_queued',
                                'embedding_in_progress','embeddings_stored','complete'];
    begin
      t0 := clock_timestamp();
      for i in 1..n loop
        insert into jobs (document_id, file_name, correlation_id) values (1, 'bench.txt', 'bench') returning id into j;
        for k in 1..8 loop perform advance_job(j, path[k], path[k + 1]); end loop;
      end loop;
      return extract(epoch from clock_timestamp() - t0) * 1000000 / (n * 8);
    end $$`);
  const perMove = () => pool.oneFirst(sql.type(z.object({ us: z.number() }))`select bench_moves(${MOVE_JOBS}) as us`);
  const subscribe = (n: number) =>
    Promise.all(
      Array.from({ length: n }, () =>
        addSubscription(pool, { url, events: ['job.state_changed', 'job.complete'] }, { allowPrivate: true }),
      ),
    );
  const setEnabled = (on: boolean) => pool.query(sql.unsafe`update webhook_subscriptions set enabled = ${on}`);
  await perMove(); // warm-up
  const rounds: Record<string, number[]> = { none: [], one: [], three: [] };
  await subscribe(1);
  const [first] = await pool.anyFirst(
    sql.type(z.object({ id: z.number() }))`select id::int from webhook_subscriptions`,
  );
  await subscribe(2);
  for (let round = 0; round < 2; round++) {
    await setEnabled(false);
    rounds.none!.push(await perMove());
    await pool.query(sql.unsafe`update webhook_subscriptions set enabled = (id = ${first!})`);
    rounds.one!.push(await perMove());
    await setEnabled(true);
    rounds.three!.push(await perMove());
  }
  const best = (xs: number[]) => Math.min(...xs);
  console.log(
    `a move (${MOVE_JOBS * 8} moves per round, best of 2): nobody subscribed ${best(rounds.none!).toFixed(0)} us, ` +
      `1 subscription ${best(rounds.one!).toFixed(0)} us, 3 subscriptions ${best(rounds.three!).toFixed(0)} us`,
  );

  // Delivery: clear the outbox, write EVENTS events over EVENTS/10 jobs for one subscription.
  await pool.query(sql.unsafe`delete from webhook_subscriptions`);
  await pool.query(sql.unsafe`delete from graphile_worker._private_jobs`);
  const { secret } = await addSubscription(pool, { url, events: ['job.state_changed'] }, { allowPrivate: true });
  await pool.query(sql.unsafe`
    with j as (insert into jobs (document_id, file_name, correlation_id)
               select 1, 'd.txt', 'd' from generate_series(1, ${Math.ceil(EVENTS / 10)}) returning id)
    select publish_webhook_event('job.state_changed', j.id, jsonb_build_object('n', k))
    from j, generate_series(1, 10) k order by j.id, k`);
  received = 0;
  const deps = buildDeps(
    loadConfig({ DATABASE_URL: db.url, TVDB_WEBHOOK_ALLOW_PRIVATE: 'true', TVDB_POLL_INTERVAL_MS: '200' }),
    pool,
    createLogger('warn'),
  );
  const started = performance.now();
  const workers = await startWorkers(deps, db.url, { concurrency: CONCURRENCY });
  while (received < EVENTS) await new Promise((r) => setTimeout(r, 20));
  const deliverS = (performance.now() - started) / 1000;
  await workers.stop();

  // Ceiling: the same number of signed POSTs, CONCURRENCY at a time, no database.
  const destination = await resolveDestination(url, { allowPrivate: true });
  const body = JSON.stringify({ type: 'job.state_changed', timestamp: new Date().toISOString(), data: { n: 1 } });
  let next = 0;
  const ceilingStarted = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next++ < EVENTS) {
        const headers = standardWebhookHeaders({
          id: `msg_${next}`,
          timestampS: Math.floor(Date.now() / 1000),
          body,
          secret,
        });
        await postWebhook(destination, { headers, body }, { timeoutMs: 10_000 });
      }
    }),
  );
  const ceilingS = (performance.now() - ceilingStarted) / 1000;
  const rate = EVENTS / deliverS;
  const ceiling = EVENTS / ceilingS;
  console.log(
    `delivery of ${EVENTS} events (${EVENTS / 10} jobs x 10, in order per job), ${CONCURRENCY} worker slots: ` +
      `${rate.toFixed(0)}/s; the same POSTs without the database: ${ceiling.toFixed(0)}/s (ratio ${(rate / ceiling).toFixed(2)})`,
  );
} finally {
  receiver.close();
  await pool.end();
  await owner.end();
  await db.drop();
}
