// The alert rules under Prometheus itself (Debian's prometheus package: promtool and the server):
// promtool checks and unit-tests them, and a real Prometheus scrapes tvdb's /metrics with the API
// token and evaluates every rule against it.
import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { sql } from 'slonik';
import { z } from 'zod';
import { createTestDatabase } from './helpers/database.ts';
import { insertJob } from './helpers/jobs.ts';
import { freePort } from './helpers/cli.ts';
import { testServer } from './helpers/server.ts';
import { testsNeeding } from './helpers/needs.ts';

const run = promisify(execFile);
const PROMTOOL = '/usr/bin/promtool';
const PROMETHEUS = '/usr/bin/prometheus';
const root = fileURLToPath(new URL('..', import.meta.url));
const RULES = path.join(root, 'ops/prometheus/alerts.yml');

const missing = [PROMTOOL, PROMETHEUS].filter((p) => !existsSync(p));
// CI installs Prometheus: without it these tests are skipped, saying why (failed under CI=true).
const needsPrometheus = testsNeeding(missing.length ? `no ${missing.join(', ')} (apt-get install prometheus)` : null);

needsPrometheus('promtool finds the rule file valid and its unit tests pass', async (t) => {
  const check = await run(PROMTOOL, ['check', 'rules', RULES]);
  t.regex(check.stdout, /SUCCESS: \d+ rules found/);
  const unit = await run(PROMTOOL, ['test', 'rules', path.join(root, 'test/prometheus/alerts.test.yml')]);
  t.regex(unit.stdout, /SUCCESS/);
});

needsPrometheus(
  'a real Prometheus scrapes /metrics with the token and evaluates every rule without error',
  async (t) => {
    const db = await createTestDatabase();
    t.teardown(() => db.drop());
    for (let i = 0; i < 3; i++) await insertJob(db.pool);
    await db.pool.query(
      sql.unsafe`update circuit_breakers set state = 'open', opened_at = now() where service = 'llamaparse'`,
    );
    const token = 'prometheus-scrape-token-0123';
    const { server, url } = await testServer(db.pool, { apiToken: token });
    t.teardown(() => server.close());

    const dir = mkdtempSync(path.join(tmpdir(), 'tvdb-prometheus-'));
    t.teardown(() => rmSync(dir, { recursive: true, force: true }));
    writeFileSync(path.join(dir, 'token'), token);
    writeFileSync(
      path.join(dir, 'prometheus.yml'),
      JSON.stringify({
        global: { scrape_interval: '1s', evaluation_interval: '1s' },
        rule_files: [RULES],
        scrape_configs: [
          {
            job_name: 'tvdb',
            metrics_path: '/metrics',
            authorization: { type: 'Bearer', credentials_file: path.join(dir, 'token') },
            static_configs: [{ targets: [new URL(url).host] }],
          },
        ],
      }),
    );
    const port = await freePort();
    const prometheus = spawn(
      PROMETHEUS,
      [
        `--config.file=${path.join(dir, 'prometheus.yml')}`,
        `--storage.tsdb.path=${path.join(dir, 'data')}`,
        `--web.listen-address=127.0.0.1:${port}`,
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let log = '';
    prometheus.stderr.on('data', (d) => (log += d));
    const exited = new Promise((r) => prometheus.on('exit', r));
    t.teardown(async () => {
      prometheus.kill('SIGTERM');
      await exited;
    });

    const api = async (query: string) => {
      const response = await fetch(`http://127.0.0.1:${port}/api/v1/${query}`).catch(() => undefined);
      return response?.ok ? ((await response.json()) as { data: any }).data : undefined;
    };
    const eventually = async <T>(what: string, probe: () => Promise<T | undefined>): Promise<T> => {
      for (let i = 0; i < 300; i++) {
        const value = await probe();
        if (value !== undefined) return value;
        await new Promise((r) => setTimeout(r, 100));
      }
      throw new Error(`${what} within 30 s; prometheus said:\n${log.slice(-2000)}`);
    };

    // The target is up (the token works) and the values are the views'.
    await eventually('tvdb target up', async () => {
      const data = await api(`query?query=${encodeURIComponent('up{job="tvdb"} == 1')}`);
      return data?.result?.length ? true : undefined;
    });
    const uploaded = await db.pool.oneFirst(
      sql.type(z.object({ jobs: z.number() }))`select jobs::int from pipeline_health where state = 'uploaded'`,
    );
    const scraped = await api(`query?query=${encodeURIComponent('tvdb_jobs{state="uploaded"}')}`);
    t.is(Number(scraped.result[0].value[1]), uploaded);

    // Every rule has been evaluated and none failed. Pending (their `for` has not passed): the open
    // breaker, and no workers while a task waits (the breaker alert's delivery: no worker runs here).
    const groups = await eventually('every rule evaluated', async () => {
      const data = await api('rules');
      const rules = data?.groups?.flatMap((g: { rules: unknown[] }) => g.rules) ?? [];
      return rules.length && rules.every((r: { lastEvaluation: string }) => !r.lastEvaluation.startsWith('0001'))
        ? (data.groups as Array<{ rules: Array<{ name: string; health: string; lastError?: string }> }>)
        : undefined;
    });
    const rules = groups.flatMap((g) => g.rules);
    t.is(rules.length, 11);
    for (const rule of rules) t.is(rule.health, 'ok', `${rule.name}: ${rule.lastError ?? ''}`);
    const alerts = await eventually('two pending alerts', async () => {
      const data = await api('alerts');
      return data?.alerts?.length >= 2
        ? (data.alerts as Array<{ labels: Record<string, string>; state: string }>)
        : undefined;
    });
    t.deepEqual(alerts.map((a) => [a.labels.alertname, a.labels.service, a.state]).sort(), [
      ['TvdbCircuitBreakerOpen', 'llamaparse', 'pending'],
      ['TvdbNoWorkers', undefined, 'pending'],
    ]);
  },
);
