// HTML to Markdown with turndown (+ GitHub tables). Measured on the corpus: the 2.4 MB 10-K filing
// converts in ~0.5 s (node-html-markdown took 30 s on it). Untrusted HTML is bounded first: the
// DOM parser turndown uses (domino) takes time quadratic in the nesting depth of block elements
// and turndown recurses once per level, so markup nested deeper than MAX_DEPTH is refused with a
// reason; and a conversion that still throws falls back to the document's plain text.
import TurndownService from 'turndown';
import { gfm } from 'turndown-plugin-gfm';
import { permanent } from '../../errors.ts';

/** Deeper than this, no real document: 30,000 nested divs took domino 33 s; 2,000 take ~0.5 s. */
export const MAX_DEPTH = 2000;

const converter = new TurndownService({ headingStyle: 'atx', codeBlockStyle: 'fenced', bulletListMarker: '-' });
converter.use(gfm);
// turndown-plugin-gfm reads the first row of every table and throws on a table without rows
// (<table></table>, a caption or colgroup alone: upstream issue turndown-plugin-gfm#17, unfixed).
converter.addRule('tableWithoutRows', {
  filter: (node) => node.nodeName === 'TABLE' && !(node as HTMLTableElement).rows?.length,
  replacement: (content) => (content.trim() ? `\n\n${content}\n\n` : ''),
});
converter.remove(['script', 'style', 'noscript', 'template', 'head', 'title']);
// Hidden blocks (e.g. the XBRL header of inline-XBRL filings) are not document text.
converter.addRule('hidden', {
  filter: (node) => /display\s*:\s*none/i.test(node.getAttribute?.('style') ?? '') || node.nodeName === 'IX:HEADER',
  replacement: () => '',
});

// Paragraphs inside table cells (Word tables have them) would break a Markdown row across lines.
converter.addRule('cellParagraph', {
  filter: (node) => node.nodeName === 'P' && /^(TD|TH)$/.test(node.parentNode?.nodeName ?? ''),
  replacement: (content, node) => `${content.trim()}${node.nextSibling ? ' ' : ''}`,
});

export function htmlToMarkdown(html: string): string {
  const depth = nestingDepth(html);
  if (depth > MAX_DEPTH)
    throw permanent(`the HTML nests elements ${depth} levels deep (more than ${MAX_DEPTH}): refusing to convert it`);
  let markdown: string;
  try {
    markdown = converter.turndown(html.replace(/<\?xml[^<>]*\?>/g, ''));
  } catch (error) {
    if (!(error instanceof TypeError || error instanceof RangeError)) throw error;
    markdown = plainText(html);
  }
  return markdown.replace(/\n{3,}/g, '\n\n').trim();
}

// Elements whose end tag may be left out (the parser closes them itself) and void elements do not
// deepen the tree however many there are.
const NOT_NESTING = new Set(
  'p li dt dd tr td th thead tbody tfoot option optgroup rb rt rp colgroup caption area base br col embed hr img input link meta param source track wbr'.split(
    ' ',
  ),
);

/** How deep open tags nest, by one linear scan over the tags (no DOM; every pattern here stops at
 * the next "<" or ">", so hostile markup cannot make it backtrack). */
export function nestingDepth(html: string): number {
  let depth = 0;
  let max = 0;
  for (const match of html.matchAll(/<(\/?)([a-zA-Z][\w:-]*)(\s[^<>]*)?>/g)) {
    const name = match[2]!.toLowerCase();
    if (NOT_NESTING.has(name) || match[3]?.endsWith('/')) continue;
    if (match[1]) depth = Math.max(0, depth - 1);
    else if (++depth > max) max = depth;
  }
  return max;
}

const SKIPPED = new Set(['script', 'style', 'template', 'noscript', 'head']);
const BREAKS = new Set([
  'p',
  'div',
  'br',
  'li',
  'tr',
  'h1',
  'h2',
  'h3',
  'h4',
  'h5',
  'h6',
  'table',
  'section',
  'article',
]);

/** The text of HTML without a DOM, in one pass with indexOf (linear whatever the markup):
 * comments, scripts and styles dropped, block tags as line breaks, other tags removed. */
export function plainText(html: string): string {
  const lower = html.toLowerCase();
  const out: string[] = [];
  let i = 0;
  while (i < html.length) {
    const lt = html.indexOf('<', i);
    if (lt < 0) {
      out.push(html.slice(i));
      break;
    }
    out.push(html.slice(i, lt));
    if (html.startsWith('<!--', lt)) {
      const end = html.indexOf('-->', lt + 4);
      i = end < 0 ? html.length : end + 3;
      continue;
    }
    const gt = html.indexOf('>', lt + 1);
    if (gt < 0) break; // an unterminated tag at the end: no text after it
    const name = /^<\/?([a-z][a-z0-9]*)/.exec(lower.slice(lt, Math.min(gt, lt + 40)))?.[1] ?? '';
    i = gt + 1;
    if (SKIPPED.has(name) && lower[lt + 1] !== '/') {
      const close = lower.indexOf(`</${name}`, i);
      i = close < 0 ? html.length : close;
    } else if (BREAKS.has(name)) out.push('\n');
    else out.push(' ');
  }
  return out
    .join('')
    .replace(/[^\S\n]+/g, ' ')
    .replace(/ ?\n ?/g, '\n');
}

/** The charset an HTML document declares in its first bytes (<meta charset> or http-equiv). */
export function htmlCharset(bytes: Uint8Array): string | undefined {
  const head = Buffer.from(bytes.subarray(0, 4096)).toString('latin1').toLowerCase();
  // Each <meta ...> tag found with indexOf, then one anchored match inside it: linear.
  for (let at = head.indexOf('<meta'); at >= 0; at = head.indexOf('<meta', at + 5)) {
    const end = head.indexOf('>', at);
    const tag = head.slice(at, end < 0 ? head.length : end);
    const match = /charset[ \t\n\r\f]*=[ \t\n\r\f]*["']?([\w-]+)/.exec(tag);
    if (!match) continue;
    try {
      new TextDecoder(match[1]!);
      return match[1]!;
    } catch {
      return undefined;
    }
  }
  return undefined;
}
