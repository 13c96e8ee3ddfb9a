// The live views of the pipeline for people: `tvdb status --watch` in a terminal, and the /status
// page in a real headless Chromium (Debian's, driven by playwright-core).
import { testNeeding } from './helpers/needs.ts';
import test from 'ava';
import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';
import { sql } from 'slonik';
import { z } from 'zod';
import { createTestDatabase, type TestDatabase } from './helpers/database.ts';
import { insertJob, pathTo, legalTransitions } from './helpers/jobs.ts';
import { cleanEnv, runTvdb } from './helpers/cli.ts';
import { startTvdb, waitForOutput } from './helpers/processes.ts';
import { testServer } from './helpers/server.ts';
import { advanceJob } from '../lib/jobs/advanceJob.ts';
import type { JobState } from '../lib/jobs/stages.ts';

const CHROMIUM = '/usr/bin/chromium';

let db: TestDatabase;
test.before(async () => {
  db = await createTestDatabase();
  // A small pipeline: two jobs complete, one failed, two waiting in uploaded.
  const transitions = await legalTransitions(db.pool);
  const walk = async (target: JobState) => {
    const job = await insertJob(db.pool);
    for (const step of pathTo(transitions, target)) await advanceJob(db.pool, job.id, step.from_state, step.to_state);
  };
  for (const target of ['complete', 'complete', 'failed_parse', 'uploaded', 'uploaded'] as JobState[])
    await walk(target);
});
test.after.always(async () => {
  await db?.drop();
});

const jobsIn = async (state: string) =>
  db.pool.oneFirst(
    sql.type(z.object({ jobs: z.number() }))`select jobs::int from pipeline_health where state = ${state}::job_state`,
  );

test.serial('tvdb status --watch redraws the whole picture until Ctrl-C, and shows new jobs', async (t) => {
  const watch = startTvdb(['status', '--watch', '--interval', '0.5'], cleanEnv({ DATABASE_URL: db.url }));
  t.teardown(() => watch.stop('SIGKILL'));
  const frame = await waitForOutput(watch, /={72}\n([\s\S]*?Recent alerts\n[^\n]*\n)/);
  for (const title of [
    'Jobs by state',
    'Time in state, last 24 h',
    'Stage failures',
    'Queue',
    'Budgets',
    'Costs',
    'Circuit breakers',
    'Stuck jobs',
  ])
    t.true(frame[1]!.includes(title), title);
  const uploadedLine = (text: string) => Number(/^uploaded +(\d+)/m.exec(text)?.[1]);
  t.is(uploadedLine(frame[1]!), await jobsIn('uploaded'));
  t.regex(frame[1]!, new RegExp(`^complete +${await jobsIn('complete')} `, 'm'));
  t.regex(frame[1]!, /jobs 5: 2 complete, 1 failed, 2 in progress/);

  await insertJob(db.pool);
  const expected = await jobsIn('uploaded');
  await waitForOutput(watch, new RegExp(`^uploaded +${expected} `, 'm'), 10_000);
  t.is(await watch.stop('SIGINT'), 0);
});

test.serial('tvdb status --watch --json prints one snapshot per line; bad flags are usage errors', async (t) => {
  const watch = startTvdb(['status', '--watch', '--json', '--interval', '0.5'], cleanEnv({ DATABASE_URL: db.url }));
  t.teardown(() => watch.stop('SIGKILL'));
  await waitForOutput(watch, /\n[^\n]*\n[^\n]*\n/);
  t.is(await watch.stop('SIGINT'), 0);
  const lines = watch
    .output()
    .split('\n')
    .filter((l) => l.startsWith('{'));
  t.true(lines.length >= 2);
  const snapshot = JSON.parse(lines[0]!);
  t.is(snapshot.health.find((r: { state: string }) => r.state === 'complete').jobs, await jobsIn('complete'));
  t.deepEqual(Object.keys(snapshot).sort(), [
    'alerts',
    'at',
    'breakers',
    'budgets',
    'costs',
    'failureRates',
    'health',
    'latency',
    'outbox',
    'queue',
    'refusals',
    'stuck',
    'topFailures',
    'workers',
  ]);

  const env = cleanEnv({ DATABASE_URL: db.url });
  const noWatch = await runTvdb(['status', '--interval', '2'], env);
  t.is(noWatch.code, 2);
  t.regex(noWatch.stderr, /--interval goes with --watch/);
  const tooFast = await runTvdb(['status', '--watch', '--interval', '0.01'], env);
  t.is(tooFast.code, 2);
  t.regex(tooFast.stderr, /--interval must be a number of seconds from 0.5 to 3600/);
});

testNeeding.serial(
  'the /status page loads in Chromium, shows the numbers of the views, and refreshes by itself',
  existsSync(CHROMIUM) ? null : `no ${CHROMIUM} (apt-get install chromium)`,
  async (t) => {
    const token = 'status-page-token-0123456789';
    const { server, url } = await testServer(db.pool, { apiToken: token });
    t.teardown(() => server.close());
    const browser: Browser = await chromium.launch({
      executablePath: CHROMIUM,
      // This machine's network is closed: no background connections, no sandbox as root.
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
    t.teardown(() => browser.close());

    // The same token as the API: without it, 401 and a Basic challenge the browser can answer.
    const refused = await fetch(`${url}/status`);
    t.is(refused.status, 401);
    t.regex(refused.headers.get('www-authenticate') ?? '', /^Basic realm="tvdb"/);
    t.is((await fetch(`${url}/status`, { headers: { authorization: `Bearer ${token}` } })).status, 200);

    const context = await browser.newContext({ httpCredentials: { username: 'operator', password: token } });
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));
    page.on('console', (message) => message.type() === 'error' && errors.push(message.text()));
    const response = await page.goto(`${url}/status?refresh=1`);
    t.is(response?.status(), 200);
    t.is(await page.title(), 'tvdb pipeline status');
    const cell = (id: string) => page.locator(`[data-cell="${id}"]`).textContent();

    // Every state's count on the page is the view's.
    const health = await db.pool.any(
      sql.type(z.object({ state: z.string(), jobs: z.number() }))`select state::text, jobs::int from pipeline_health`,
    );
    t.is(health.length, 12);
    for (const row of health) t.is(await cell(`states/${row.state}/jobs`), String(row.jobs), row.state);
    t.is(await cell('breakers/llamaparse/state'), 'closed');
    t.regex((await page.locator('#headline').textContent()) ?? '', /jobs \d+: \d+ complete, 1 failed/);

    // It refreshes in place: new jobs and an opened breaker appear without a reload.
    await page.evaluate(() => ((window as unknown as { marker: number }).marker = 42));
    const updatedBefore = Number(await page.locator('#headline').getAttribute('data-updated-at'));
    await insertJob(db.pool);
    await insertJob(db.pool);
    await db.pool.query(
      sql.unsafe`update circuit_breakers set state = 'open', opened_at = now() where service = 'llamaparse'`,
    );
    const uploaded = String(await jobsIn('uploaded'));
    await page.waitForFunction(
      ([expected]) => document.querySelector('[data-cell="states/uploaded/jobs"]')?.textContent === expected,
      [uploaded],
      { timeout: 10_000 },
    );
    t.is(await cell('breakers/llamaparse/state'), 'open');
    t.true(Number(await page.locator('#headline').getAttribute('data-updated-at')) > updatedBefore);
    t.is(await page.evaluate(() => (window as unknown as { marker: number }).marker), 42, 'no reload');
    t.is(await page.locator('#refresh-error').textContent(), '');
    t.deepEqual(errors, []);
    await db.pool.query(
      sql.unsafe`update circuit_breakers set state = 'closed', opened_at = null where service = 'llamaparse'`,
    );

    // ?format=json is the same snapshot, for scripts.
    const json = await page.evaluate(async () => (await fetch('/status?format=json')).json());
    t.is(json.health.find((r: { state: string }) => r.state === 'uploaded').jobs, Number(uploaded));
  },
);
