import { readFileSync, readdirSync } from 'node:fs';
import { detectType } from './lib/intake/detectType.ts';
import { parseLocally } from './lib/parse/local/parseLocally.ts';
const root = '../shared/corpus';
for (const dir of ['pdf','docx','html','text','bad']) for (const f of readdirSync(`${root}/${dir}`)) {
  const bytes = readFileSync(`${root}/${dir}/${f}`);
  const t0 = performance.now();
  const type = detectType(bytes);
  try {
    const out = await parseLocally(bytes, type);
    const words = out.pages.reduce((n,p)=>n+p.markdown.split(/\s+/).filter(Boolean).length,0);
    console.log(`${dir}/${f}`.padEnd(50), type.kind.padEnd(9), 'pages', out.pageCount, 'kept', out.pages.length, 'words', words, Math.round(performance.now()-t0)+'ms', JSON.stringify(out.pages[0]?.markdown.slice(0,60)));
  } catch (e) { console.log(`${dir}/${f}`.padEnd(50), type.kind.padEnd(9), 'ERR', (e as Error).message.slice(0,140)); }
}
