import { parseCommandArgs, UsageError, type Command } from '../command.ts';
import { withRuntime } from '../runtime.ts';
import { duration, table } from '../../lib/format.ts';
import { ConfigError, type Config } from '../../lib/config.ts';
import { chooseEmbedder } from '../../lib/embed/chooseEmbedder.ts';
import type { VectorSpace } from '../../lib/vectors/hnswIndex.ts';
import { indexBuildProgress } from '../../lib/vectors/vectorIndexes.ts';
import { createDatabasePool } from '../../lib/db/database.ts';
import { ReindexRefused, reindexVectors } from '../../lib/vectors/reindexVectors.ts';
import { vectorsAdvice, vectorsStatus } from '../../lib/vectors/vectorsStatus.ts';

const command: Command = {
  usage: `Usage: tvdb vectors status [--json]
       tvdb vectors reindex [--rebuild] [--json]

status   pgvector on the server and in this database; per vector space (model, dimensions) the
         vectors stored, its HNSW index and how search reads it (hnsw, or exact: no index, or no
         more than TVDB_SEARCH_EXACT_BELOW vectors).
reindex  moves the stored vectors onto pgvector's HNSW index, without re-embedding: creates the
         vector extension (needs a superuser) and builds one index per vector space as the tables'
         owner (TVDB_MIGRATION_DATABASE_URL, or DATABASE_URL when it is the owner), concurrently
         (ingestion and search go on; search stays exact until the index is ready). Spaces already
         indexed are kept; --rebuild builds them anew (after changing TVDB_HNSW_M or
         TVDB_HNSW_EF_CONSTRUCTION). Build memory: TVDB_INDEX_BUILD_MEMORY.`,
  async run(argv) {
    const { values, positionals } = parseCommandArgs(argv, {
      options: { rebuild: { type: 'boolean' }, json: { type: 'boolean' } },
      allowPositionals: true,
    });
    const [action, ...extra] = positionals;
    if (extra.length) throw new UsageError(`unexpected ${extra.join(' ')}`);
    if (action === 'status') {
      return withRuntime({ poolSize: 1 }, async ({ config, pool }) => {
        const status = await vectorsStatus(pool, configuredSpace(config), config.TVDB_SEARCH_EXACT_BELOW);
        if (values.json) {
          process.stdout.write(JSON.stringify(status) + '\n');
          return 0;
        }
        const { available, installed } = status.pgvector;
        process.stdout.write(
          `pgvector: ${installed ? `${installed} (enabled in this database)` : available ? `${available} installed on the server, not enabled here` : 'not installed on the server (search reads every vector; see README)'}\n\n`,
        );
        process.stdout.write(
          table(
            ['model', 'dimensions', 'vectors', 'hnsw index', 'size', 'search'],
            status.spaces.map((s) => [
              s.model,
              s.dimensions,
              s.vectors,
              s.index
                ? `${s.index.name}${s.index.valid ? '' : ' (INVALID: interrupted build)'}`
                : s.indexable
                  ? null
                  : 'too many dimensions',
              s.index ? `${(s.index.size_bytes / 1048576).toFixed(1)} MB` : null,
              s.search,
            ]),
          ),
        );
        const advice = vectorsAdvice(status);
        if (advice) process.stdout.write(`\n${advice}\n`);
        return 0;
      });
    }
    if (action === 'reindex') {
      return withRuntime({ poolSize: 1 }, async ({ config, db, onShutdown }) => {
        // Indexes are built by the tables' owner (the application role owns nothing), and the
        // extension is created by a superuser: the migration URL when there is one.
        const pool = await createDatabasePool(db.migrationUrl ?? db.url, 3);
        onShutdown(() => pool.end());
        const live = process.stderr.isTTY && !values.json;
        let building: (VectorSpace & { vectors: number }) | null = null;
        let started = 0;
        let polling = false;
        const timer = setInterval(async () => {
          if (!building || polling) return;
          polling = true;
          const progress = (await indexBuildProgress(pool).catch(() => []))[0];
          polling = false;
          if (!progress || !building) return;
          const share = building.vectors
            ? ` ${Math.min(100, Math.round((progress.tuples_done / building.vectors) * 100))}%`
            : '';
          const line = `${building.model} (${building.dimensions}): ${progress.phase}${share}, ${duration((performance.now() - started) / 1000)}`;
          if (live) process.stderr.write(`\r\x1b[K${line}`);
        }, 1000);
        try {
          const outcomes = await reindexVectors(pool, {
            build: {
              m: config.TVDB_HNSW_M,
              efConstruction: config.TVDB_HNSW_EF_CONSTRUCTION,
              maintenanceWorkMem: config.TVDB_INDEX_BUILD_MEMORY,
            },
            configured: configuredSpace(config),
            rebuild: Boolean(values.rebuild),
            onSpace: (space, phase, outcome) => {
              if (phase === 'start') {
                building = space;
                started = performance.now();
                if (!values.json)
                  process.stderr.write(
                    `${space.model} (${space.dimensions}): building the HNSW index over ${space.vectors} vectors\n`,
                  );
                return;
              }
              building = null;
              if (live) process.stderr.write('\r\x1b[K');
              if (!values.json && outcome)
                process.stdout.write(
                  `${outcome.model} (${outcome.dimensions}): ${describe(outcome.action)}${outcome.action === 'built' || outcome.action === 'rebuilt' ? ` in ${duration(outcome.seconds)}` : ''}\n`,
                );
            },
          });
          if (values.json) process.stdout.write(JSON.stringify({ spaces: outcomes }) + '\n');
          return 0;
        } catch (error) {
          if (error instanceof ReindexRefused) {
            process.stderr.write(`tvdb vectors reindex: ${error.message}\n`);
            return 1;
          }
          if (error instanceof RangeError)
            throw new ConfigError(`TVDB_HNSW_EF_CONSTRUCTION / TVDB_HNSW_M: ${error.message}`);
          throw error;
        } finally {
          clearInterval(timer);
        }
      });
    }
    throw new UsageError('tvdb vectors takes "status" or "reindex"');
  },
};
export default command;

const describe = (action: string) =>
  ({
    built: 'HNSW index built',
    rebuilt: 'HNSW index rebuilt',
    kept: 'HNSW index already there (kept; --rebuild builds it anew)',
    not_indexable: 'too many dimensions for an HNSW index (pgvector: 4,000 at most); searched exactly',
  })[action] ?? action;

/** The configured embedder's space (none when the embedder cannot be built here, e.g. no API key). */
function configuredSpace(config: Config): VectorSpace | undefined {
  try {
    const embedder = chooseEmbedder(config);
    return { model: embedder.model, dimensions: embedder.dimensions };
  } catch {
    return undefined;
  }
}
