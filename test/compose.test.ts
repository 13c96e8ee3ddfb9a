import test from 'ava';
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';

const compose = parse(readFileSync(new URL('../docker-compose.yml', import.meta.url), 'utf8'));
const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');

test('docker-compose.yml brings up a pgvector PostgreSQL with a health check', (t) => {
  const postgres = compose.services.postgres;
  t.regex(postgres.image, /pgvector/);
  t.truthy(postgres.healthcheck?.test);
});

test('every tvdb variable the compose file sets is documented in the README', (t) => {
  const names = Object.values<{ environment?: Record<string, string> }>(compose.services)
    .filter((s) => !String((s as { image?: string }).image).includes('pgvector'))
    .flatMap((s) => Object.keys(s.environment ?? {}));
  t.true(names.length > 0);
  for (const name of names) t.true(readme.includes(`\`${name}\``), `${name} is in the README`);
});

test('the DATABASE_URL the README gives for compose matches the compose credentials', (t) => {
  const { POSTGRES_USER, POSTGRES_PASSWORD, POSTGRES_DB } = compose.services.postgres.environment;
  t.true(readme.includes(`postgres://${POSTGRES_USER}:${POSTGRES_PASSWORD}@localhost:5432/${POSTGRES_DB}`));
});
