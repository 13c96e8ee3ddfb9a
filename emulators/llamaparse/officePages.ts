// The emulator's reading of PPTX and XLSX (our local parser reads neither): one page per slide
// (ppt/slides/slideN.xml) or sheet (xl/worksheets/sheetN.xml), in N order, its text the XML's
// <a:t> / <t> / <v> runs. Enough to stand in for LlamaParse's page numbering and billing.
import yauzl from 'yauzl';
import type { ParseOutput } from '../../lib/parse/types.ts';

export async function officePages(file: Buffer, kind: 'pptx' | 'xlsx'): Promise<ParseOutput> {
  const pattern = kind === 'pptx' ? /^ppt\/slides\/slide(\d+)\.xml$/ : /^xl\/worksheets\/sheet(\d+)\.xml$/;
  const zip = await yauzl.fromBufferPromise(file, { lazyEntries: true });
  const found: Array<{ n: number; text: string }> = [];
  try {
    for await (const entry of zip.eachEntry()) {
      const m = pattern.exec(entry.fileName);
      if (!m) continue;
      const chunks: Buffer[] = [];
      for await (const chunk of await zip.openReadStreamPromise(entry)) chunks.push(chunk as Buffer);
      const xml = Buffer.concat(chunks).toString('utf8');
      const runs = [...xml.matchAll(/<(?:a:t|t|v)(?:\s[^>]*)?>([^<]*)<\//g)].map((r) => r[1]!);
      found.push({ n: Number(m[1]), text: runs.join(' ').trim() });
    }
  } finally {
    zip.close();
  }
  if (!found.length) throw new Error(`no ${kind === 'pptx' ? 'slides' : 'sheets'} in the file`);
  found.sort((a, b) => a.n - b.n);
  const pages = found.map((f, i) => ({ page_number: i + 1, markdown: f.text })).filter((p) => p.markdown !== '');
  return { pages, failedPages: [], pageCount: found.length };
}
