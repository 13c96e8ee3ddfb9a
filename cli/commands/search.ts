import { printable } from '../../lib/format.ts';
import { parseCommandArgs, UsageError, type Command } from '../command.ts';
import { withRuntime } from '../runtime.ts';
import { chooseEmbedder } from '../../lib/embed/chooseEmbedder.ts';
import { searchChunks } from '../../lib/search/searchChunks.ts';

const command: Command = {
  usage: `Usage: tvdb search "<text>" [-k N] [--json]

Embeds the text with the configured embedder and lists the N (default 5) nearest chunks of
completed documents. With the local embedder the match is lexical (shared words), not semantic.`,
  async run(argv) {
    const { values, positionals } = parseCommandArgs(argv, {
      options: { k: { type: 'string', short: 'k' }, json: { type: 'boolean' } },
      allowPositionals: true,
    });
    const text = positionals.join(' ').trim();
    if (!text) throw new UsageError('give the text to search for');
    const k = Number(values.k ?? 5);
    if (!Number.isInteger(k) || k < 1 || k > 1000) throw new UsageError('-k takes a whole number from 1 to 1000');
    return withRuntime({ poolSize: 2 }, async ({ config, pool }) => {
      const embedder = chooseEmbedder(config);
      const { vectors } = await embedder.embed([text]);
      const hits = await searchChunks(pool, {
        vector: vectors[0]!,
        model: embedder.model,
        dimensions: embedder.dimensions,
        k,
      });
      if (values.json) {
        process.stdout.write(JSON.stringify(hits) + '\n');
        return 0;
      }
      if (!hits.length)
        process.stdout.write(`no results (no completed documents embedded with ${embedder.model} yet?)\n`);
      for (const [i, hit] of hits.entries()) {
        const pages =
          hit.page_start === hit.page_end ? `p. ${hit.page_start}` : `pp. ${hit.page_start}-${hit.page_end}`;
        const where = hit.heading_path.length ? `  § ${hit.heading_path.join(' › ')}` : '';
        const excerpt = hit.content.replace(/\s+/g, ' ').slice(0, 200);
        process.stdout.write(
          `${i + 1}. ${hit.score.toFixed(3)}  ${printable(hit.file_name)}  ${pages}${where}\n   ${excerpt}${hit.content.length > 200 ? '…' : ''}\n`,
        );
      }
      return 0;
    });
  },
};
export default command;
