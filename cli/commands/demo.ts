import { printable } from '../../lib/format.ts';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import type { Command } from '../command.ts';
import { parseCommandArgs } from '../command.ts';
import { withRuntime } from '../runtime.ts';
import { ingestFlow, exitCodeOf } from '../ingestFlow.ts';
import { search, searchDeps } from '../../lib/search/search.ts';
import { followedTotals } from '../../lib/status/followedJobs.ts';

const SAMPLES = path.relative(process.cwd(), fileURLToPath(new URL('../../samples', import.meta.url))) || '.';
const QUESTION = 'what happens when a job makes an illegal state transition';

const command: Command = {
  usage: `Usage: tvdb demo (also: npm start)

The main job on the embedded default: ingests the sample documents shipped in samples/ (Markdown,
HTML and a generated PDF about this project), shows live progress, then a summary (documents,
chunks, vectors, time, cost) and an example search. Needs no server and no keys; with
DATABASE_URL, LLAMA_CLOUD_API_KEY or EMBEDDINGS_* set it uses those instead.`,
  async run(argv) {
    parseCommandArgs(argv, { options: {} });
    return withRuntime({}, async (rt) => {
      process.stdout.write(
        `tvdb demo: ingesting ${SAMPLES}\n${rt.db.embedded ? 'database: embedded PostgreSQL in ' + rt.config.TVDB_DATA_DIR + '\n' : ''}\n`,
      );
      const flow = await ingestFlow(rt, [SAMPLES], { wait: true, json: false });
      const ids = flow.jobs.map((j) => j.id);
      const totals = await followedTotals(rt.pool, ids);
      const complete = flow.jobs.filter((j) => j.state === 'complete').length;
      process.stdout.write(
        `\nsummary: ${complete}/${flow.jobs.length} documents complete, ${totals.chunks} chunks, ${totals.vectors} vectors, ` +
          `${flow.seconds.toFixed(1)}s, cost $0.00 (${flow.deps.parser.parser} parser${totals.credits ? `, ${totals.credits} LlamaParse credits` : ''}, ${flow.deps.embedder.model})\n`,
      );
      const { results } = await search(searchDeps(rt.config, rt.pool, rt.log, flow.deps.embedder, flow.deps.cpu), {
        query: QUESTION,
        k: 3,
        mode: 'hybrid',
        filters: {},
      });
      process.stdout.write(`\nexample search: "${QUESTION}"\n`);
      for (const hit of results) {
        process.stdout.write(
          `${hit.rank}. ${hit.score.toFixed(3)}  ${printable(hit.file_name)} p. ${hit.page_start}\n   ${hit.content.replace(/\s+/g, ' ').slice(0, 160)}…\n`,
        );
      }
      process.stdout.write(
        `\nnext: npx tvdb search "your question"   npx tvdb status   npx tvdb ingest <your files>\n`,
      );
      return exitCodeOf(flow);
    });
  },
};
export default command;
