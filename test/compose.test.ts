import test from 'ava';
import { existsSync, readFileSync } from 'node:fs';
import { parse } from 'yaml';

const read = (path: string) => readFileSync(new URL(`../${path}`, import.meta.url), 'utf8');
const compose = parse(read('docker-compose.yml'));
const readme = read('README.md');
type Service = { image?: string; environment?: Record<string, string>; volumes?: string[]; profiles?: string[] };
const services: Record<string, Service> = compose.services;

test('docker-compose.yml brings up a pgvector PostgreSQL with a health check', (t) => {
  const postgres = compose.services.postgres;
  t.regex(postgres.image, /pgvector/);
  t.truthy(postgres.healthcheck?.test);
});

test('every tvdb variable the compose file sets is documented in the README', (t) => {
  const names = Object.values(services)
    .filter((s) => String(s.image).startsWith('node:'))
    .flatMap((s) => Object.keys(s.environment ?? {}));
  t.true(names.length > 0);
  for (const name of names) t.true(readme.includes(`\`${name}\``), `${name} is in the README`);
});

test('compose publishes nothing beyond 127.0.0.1, has no default password, and Grafana needs a login', (t) => {
  for (const [name, service] of Object.entries(compose.services as Record<string, { ports?: string[] }>))
    for (const port of service.ports ?? []) t.true(port.startsWith('127.0.0.1:'), `${name} publishes ${port}`);
  const text = read('docker-compose.yml');
  t.false(/postgres:\/\/\w+:\w+@/.test(text), 'no literal password in a URL');
  t.regex(compose.services.postgres.environment.POSTGRES_PASSWORD, /^\$\{POSTGRES_PASSWORD:\?/);
  const grafana = compose.services.grafana.environment;
  t.is(grafana.GF_AUTH_ANONYMOUS_ENABLED, 'false');
  t.regex(grafana.GF_SECURITY_ADMIN_PASSWORD, /^\$\{GRAFANA_ADMIN_PASSWORD:\?/);
});

test('the services connect as the application role; only the migrate service has the owner', (t) => {
  const user = (url: string) => /^postgres:\/\/([^:@]+)/.exec(url)?.[1];
  for (const name of ['server', 'worker']) {
    const env = services[name]!.environment!;
    t.is(user(env.DATABASE_URL!), 'tvdb_app', `${name} connects as tvdb_app`);
    t.false('TVDB_MIGRATION_DATABASE_URL' in env, `${name} has no owner URL`);
    t.notRegex(JSON.stringify(compose.services[name].command), /migrate/);
  }
  const migrate = services.migrate!.environment!;
  t.is(user(migrate.TVDB_MIGRATION_DATABASE_URL!), 'tvdb_owner');
  t.is(user(migrate.DATABASE_URL!), 'tvdb_app');
  // The owner is created by the init script the postgres service mounts, and is not a superuser.
  const init = read('ops/postgres/initdb/10-tvdb-owner.sh');
  t.regex(init, /create role tvdb_owner login createrole/);
  t.notRegex(init.replace(/^#.*$/gm, ''), /superuser/i);
  t.true(
    services.postgres!.volumes!.some((v: string) => v.startsWith('./ops/postgres/initdb:/docker-entrypoint-initdb.d')),
  );
  t.true(readme.includes('TVDB_APP_PASSWORD') && readme.includes('TVDB_OWNER_PASSWORD'));
});

test('the monitoring profile mounts the Prometheus config, its rules and the Grafana provisioning that exist here', (t) => {
  for (const name of ['prometheus', 'grafana']) t.deepEqual(services[name]!.profiles, ['monitoring'], name);
  const mounts = (name: string) =>
    (services[name]!.volumes ?? []).filter((v) => v.startsWith('./')).map((v) => v.split(':') as [string, string]);
  for (const [hostPath] of [...mounts('prometheus'), ...mounts('grafana')])
    t.true(existsSync(new URL(`../${hostPath}`, import.meta.url)), `${hostPath} exists`);

  // Prometheus loads alerts.yml from where the mount puts it, and scrapes the compose server.
  const promMount = mounts('prometheus').find(([host]) => host === './ops/prometheus')!;
  const prometheus = parse(read('ops/prometheus/prometheus.yml'));
  for (const file of prometheus.rule_files as string[]) {
    t.true(file.startsWith(`${promMount[1]}/`), `${file} is inside the mount`);
    t.true(existsSync(new URL(`../ops/prometheus/${file.slice(promMount[1].length + 1)}`, import.meta.url)));
  }
  const target = prometheus.scrape_configs[0].static_configs[0].targets[0] as string;
  t.is(target, `server:${services.server!.environment!.PORT}`);
  t.is(prometheus.scrape_configs[0].metrics_path, '/metrics');

  // Grafana's provisioning points at the Prometheus service and at the mounted dashboards folder.
  const datasource = parse(read('ops/grafana/provisioning/datasources/prometheus.yml')).datasources[0];
  t.is(datasource.url, 'http://prometheus:9090');
  const provider = parse(read('ops/grafana/provisioning/dashboards/tvdb.yml')).providers[0];
  t.true(
    mounts('grafana').some(([host, inside]) => host === './ops/grafana/dashboards' && inside === provider.options.path),
  );
  const dashboard = JSON.parse(read('ops/grafana/dashboards/tvdb-pipeline.json'));
  const panelTitles = (dashboard.panels as Array<{ type: string; title: string }>).map((p) => p.title).join(' | ');
  for (const topic of ['Jobs by state', 'Time in state', 'failure', 'Spend', 'Budget', 'Circuit breakers'])
    t.true(panelTitles.includes(topic), `the dashboard has a panel on ${topic}`);
  for (const panel of dashboard.panels as Array<{ type: string; datasource?: { uid: string } }>)
    if (panel.type !== 'row') t.is(panel.datasource?.uid, datasource.uid);
});
