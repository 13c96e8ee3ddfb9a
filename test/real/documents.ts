// The documents of test/real/manifest.json: corpus files, or files this project generates.
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { minimalPdf, wrap } from '../../lib/documents/minimalPdf.ts';
import { HAS_CORPUS, corpusFile } from '../helpers/corpusFiles.ts';
import { docxWithPictures } from '../helpers/imageDocuments.ts';

const Document = z.object({
  id: z.string(),
  source: z.enum(['corpus', 'generated']),
  path: z.string().optional(),
  generator: z.string().optional(),
  type: z.string(),
  pages: z.number().int().min(0),
  phrases: z.array(z.string()),
  expect: z.enum(['complete', 'failed_parse', 'refused']),
  reason: z.string().optional(),
});
export type ManifestDocument = z.infer<typeof Document> & { name: string; bytes: Buffer };

const GENERATORS: Record<string, () => Buffer> = {
  'three-page-pdf': () =>
    minimalPdf([
      wrap('Page one of the lighthouse keepers log. The lamp was lit at dusk and trimmed at midnight.'),
      wrap('Page two lists the tide tables for the harbour, high water and low water for each day.'),
      wrap('Page three records the ships that passed and the weather seen from the gallery.'),
    ]),
  // A Word file with a PNG, a JPEG and an EMF picture (issue 23: images are references, not bytes).
  'docx-with-pictures': () => docxWithPictures(['The harbour master keeps the tide tables for the port.']),
  // A real PDF cut in half: no cross-reference table, no end.
  'corrupt-pdf': () => minimalPdf([wrap('This document will be cut short and cannot be parsed.')]).subarray(0, 180),
  // Bytes of no known type (NUL-laden binary).
  'unsupported-binary': () =>
    Buffer.from(Array.from({ length: 256 }, (_, i) => ((i * 37) % 7 === 0 ? 0 : (i * 91) % 256))),
};

export function loadManifest(): { documents: ManifestDocument[]; skipped: string[] } {
  const raw = z
    .object({ documents: z.array(Document) })
    .parse(JSON.parse(readFileSync(new URL('./manifest.json', import.meta.url), 'utf8')));
  const documents: ManifestDocument[] = [];
  const skipped: string[] = [];
  for (const d of raw.documents) {
    if (d.source === 'corpus') {
      if (!HAS_CORPUS) {
        skipped.push(`${d.id} (../shared/corpus absent)`);
        continue;
      }
      documents.push({ ...d, name: d.path!.split('/').pop()!, bytes: corpusFile(d.path!) });
    } else {
      const make = GENERATORS[d.generator ?? ''];
      if (!make) throw new Error(`manifest: no generator "${d.generator}"`);
      documents.push({
        ...d,
        name: `${d.id}.${d.type === 'pdf' || d.type === 'docx' ? d.type : 'bin'}`,
        bytes: make(),
      });
    }
  }
  return { documents, skipped };
}
