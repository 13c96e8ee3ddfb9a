// The status picture for a terminal: the headline, then each section as a plain table.
import { table } from '../format.ts';
import { statusHeadline, statusSections } from './sections.ts';
import type { Snapshot } from './snapshot.ts';

export function statusText(snapshot: Snapshot): string {
  const parts = [statusHeadline(snapshot) + '\n'];
  for (const section of statusSections(snapshot)) {
    parts.push(`\n${section.title}\n`);
    if (!section.rows.length) parts.push(`  (${section.empty})\n`);
    else
      parts.push(
        table(
          [section.keyLabel, ...section.columns.map((c) => c.label)],
          section.rows.map((r) => [r.key, ...r.cells]),
        ),
      );
  }
  return parts.join('');
}
