// Pure: split a page of Markdown into blocks that should not be cut when avoidable: headings,
// paragraphs, whole lists, whole tables, whole fenced code blocks.
export type Block = { kind: 'heading' | 'paragraph' | 'list' | 'table' | 'code'; text: string; level?: number };

const FENCE = /^\s*(```|~~~)/;
const LIST_ITEM = /^\s*([-*+]|\d+[.)])\s+/;
const TABLE_ROW = /^\s*\|/;
// Linear on any line: `^(#{1,6})\s+(.*)$` backtracked quadratically on a long run of spaces that
// ended in a line separator (`.` stops there, `\s+` gives back one character at a time).
const HEADING = /^(#{1,6})\s/;

export function markdownBlocks(markdown: string): Block[] {
  const lines = markdown.replace(/\r\n?/g, '\n').split('\n');
  const blocks: Block[] = [];
  let i = 0;
  while (i < lines.length) {
    const line = lines[i]!;
    if (line.trim() === '') {
      i++;
      continue;
    }
    const heading = HEADING.exec(line);
    if (heading) {
      blocks.push({ kind: 'heading', text: line.trim(), level: heading[1]!.length });
      i++;
      continue;
    }
    if (FENCE.test(line)) {
      const fence = FENCE.exec(line)![1]!;
      let j = i + 1;
      while (j < lines.length && !lines[j]!.trim().startsWith(fence)) j++;
      blocks.push({ kind: 'code', text: lines.slice(i, Math.min(j + 1, lines.length)).join('\n') });
      i = j + 1;
      continue;
    }
    const kind: Block['kind'] = TABLE_ROW.test(line) ? 'table' : LIST_ITEM.test(line) ? 'list' : 'paragraph';
    let j = i + 1;
    while (j < lines.length && lines[j]!.trim() !== '' && !HEADING.test(lines[j]!) && !FENCE.test(lines[j]!)) {
      // A list continues through its items and their indented continuation lines.
      if (kind === 'paragraph' && (TABLE_ROW.test(lines[j]!) || LIST_ITEM.test(lines[j]!))) break;
      j++;
    }
    // A list separated by blank lines between items is still one list.
    if (kind === 'list') {
      while (j + 1 < lines.length && lines[j]!.trim() === '' && LIST_ITEM.test(lines[j + 1]!)) {
        j += 1;
        while (j < lines.length && lines[j]!.trim() !== '' && !HEADING.test(lines[j]!)) j++;
      }
    }
    blocks.push({ kind, text: lines.slice(i, j).join('\n') });
    i = j;
  }
  return blocks;
}
