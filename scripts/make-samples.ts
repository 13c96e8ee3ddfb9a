// npm run samples: regenerates samples/operations-guide.pdf (the demo's PDF) from the text below.
import { writeFileSync } from 'node:fs';
import { minimalPdf, wrap } from '../lib/documents/minimalPdf.ts';

const pages = [
  `Operations guide. Operators watch the pipeline with psql. The pipeline_health view shows how many jobs are in each state, the age of the oldest job in each state, and how many jobs entered each state in the last five and sixty minutes. The job_timeline view shows one job's events with the time spent in each state.`,
  `Workers. A worker process runs the parse, chunk and embed tasks. Stopping a worker with SIGTERM lets it finish the jobs in hand. Every task is idempotent: running it again after a crash changes nothing, because each move is a compare-and-set and every row is keyed.`,
  `Costs. Parsing with LlamaParse is billed in credits per page, and embedding with a hosted model is billed per token. The local parser and the local embedder cost nothing. Re-ingesting a document whose bytes did not change reuses its parse and its vectors.`,
];
writeFileSync(new URL('../samples/operations-guide.pdf', import.meta.url), minimalPdf(pages.map((p) => wrap(p))));
console.log('wrote samples/operations-guide.pdf');
