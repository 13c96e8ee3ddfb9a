// Tokens embedded per corpus document (issue 23's README numbers): each readable corpus file parsed
// with the local parser, cleaned (lib/chunk/leaveOutNonText) and chunked as the chunk stage does
// (CHUNK_TARGET_TOKENS 512, overlap 64, within text-embedding-3-small's 8,192), the chunks' tokens
// summed. `node scripts/measure-embedded-tokens.ts [corpus dir]`; prints a Markdown table.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parseLocally } from '../lib/parse/local/parseLocally.ts';
import { chunkMarkdown } from '../lib/chunk/chunkMarkdown.ts';
import { leaveOutNonText } from '../lib/chunk/leaveOutNonText.ts';
import { countTokens } from '../lib/chunk/tokenizer.ts';

const root = process.argv[2] ?? new URL('../../shared/corpus', import.meta.url).pathname;
const files = ['pdf', 'docx', 'html', 'text'].flatMap((dir) =>
  readdirSync(join(root, dir))
    .filter((f) => statSync(join(root, dir, f)).isFile())
    .map((f) => `${dir}/${f}`),
);
console.log('| document | tokens parsed | after clean-up | chunks | tokens embedded | largest chunk | images |');
console.log('|---|---:|---:|---:|---:|---:|---:|');
for (const file of files.sort()) {
  let output;
  try {
    output = await parseLocally(readFileSync(join(root, file)));
  } catch {
    continue; // unreadable by the local parser (scanned, corrupt): nothing embedded
  }
  const cleaned = leaveOutNonText(output.pages);
  const parsed = output.pages.reduce((n, p) => n + countTokens(p.markdown), 0);
  const after = cleaned.pages.reduce((n, p) => n + countTokens(p.markdown), 0);
  const chunks = chunkMarkdown(cleaned.pages, { targetTokens: 512, overlapTokens: 64, countTokens });
  const embedded = chunks.reduce((n, c) => n + c.tokenCount, 0);
  const largest = Math.max(...chunks.map((c) => c.tokenCount));
  const images = (
    cleaned.pages
      .map((p) => p.markdown)
      .join('\n')
      .match(/!\[[^\]\n]*\]\(image \d+\)/g) ?? []
  ).length;
  console.log(`| ${file} | ${parsed} | ${after} | ${chunks.length} | ${embedded} | ${largest} | ${images} |`);
}
