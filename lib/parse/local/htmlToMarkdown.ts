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
// Tables whose first row is not a header row: turndown-plugin-gfm keeps them as raw HTML (scripts and
// styles inside included). Convert them too, their first row as the header (Markdown tables need one).
converter.addRule('tableWithoutHeader', {
  filter: (node) => {
    const rows = (node as HTMLTableElement).rows;
    return node.nodeName === 'TABLE' && Boolean(rows?.length) && !isHeadingRow(rows![0]!);
  },
  replacement: (content) => {
    const lines = content.trim().split('\n');
    const cells = (lines[0]?.match(/\|/g)?.length ?? 1) - 1;
    if (cells > 0) lines.splice(1, 0, `|${' --- |'.repeat(cells)}`);
    return `\n\n${lines.join('\n')}\n\n`;
  },
});
// <pre> holding more than one <code> (or text beside it): turndown's code-block rules read only
// the first <code> and drop the rest.
converter.addRule('preformatted', {
  filter: (node) => node.nodeName === 'PRE' && !(node.childNodes.length === 1 && node.firstChild?.nodeName === 'CODE'),
  replacement: (_content, node) => `\n\n\`\`\`\n${(node.textContent ?? '').replace(/\n$/, '')}\n\`\`\`\n\n`,
});
converter.remove(['script', 'style', 'noscript', 'template', 'head', 'title']);
// Hidden blocks (e.g. the XBRL header of inline-XBRL filings) are not document text.
converter.addRule('hidden', {
  filter: (node) => /display\s*:\s*none/i.test(node.getAttribute?.('style') ?? '') || node.nodeName === 'IX:HEADER',
  replacement: () => '',
});

// Images are not text (DECISIONS.md, "Images"): an image whose source is its bytes (a `data:` URI) or
// an inline <svg> becomes `![alt](image N)`, N counting the document's images from 1; an image with
// a URL keeps it (a readable reference). The count restarts with each htmlToMarkdown call.
let imagesSeen = 0;
const imageReference = (alt: string) =>
  `![${alt.replace(/\s+/g, ' ').replace(/[[\]]/g, '').trim()}](image ${++imagesSeen})`;
converter.addRule('embeddedImage', {
  filter: (node) => node.nodeName === 'IMG' && /^\s*data:/i.test(node.getAttribute('src') ?? ''),
  replacement: (_content, node) => imageReference((node as HTMLElement).getAttribute('alt') ?? ''),
});
// A picture the DOCX path already numbered (src "image N"): the same reference, without the angle
// brackets turndown puts around a destination holding a space.
converter.addRule('numberedImage', {
  filter: (node) => node.nodeName === 'IMG' && /^image \d+$/.test(node.getAttribute('src') ?? ''),
  replacement: (_content, node) => {
    const element = node as HTMLElement;
    const alt = (element.getAttribute('alt') ?? '').replace(/\s+/g, ' ').replace(/[[\]]/g, '').trim();
    return `![${alt}](${element.getAttribute('src')})`;
  },
});
converter.addRule('inlineSvg', {
  filter: (node) => node.nodeName.toLowerCase() === 'svg',
  replacement: (_content, node) => {
    const element = node as HTMLElement;
    const title = Array.prototype.find.call(element.childNodes, (n: Node) => n.nodeName.toLowerCase() === 'title') as
      Node | undefined;
    return imageReference(element.getAttribute('aria-label') ?? title?.textContent ?? '');
  },
});

// Paragraphs inside table cells (Word tables have them) would break a Markdown row across lines.
converter.addRule('cellParagraph', {
  filter: (node) => node.nodeName === 'P' && /^(TD|TH)$/.test(node.parentNode?.nodeName ?? ''),
  replacement: (content, node) => `${content.trim()}${node.nextSibling ? ' ' : ''}`,
});

/** The heading row test of turndown-plugin-gfm: a <thead> row, or a first row of <th> cells only. */
function isHeadingRow(tr: HTMLTableRowElement): boolean {
  const parent = tr.parentNode;
  return (
    parent?.nodeName === 'THEAD' ||
    (parent?.firstChild === tr &&
      (parent.nodeName === 'TABLE' || isFirstTbody(parent)) &&
      Array.prototype.every.call(tr.childNodes, (n: Node) => n.nodeName === 'TH'))
  );
}

function isFirstTbody(element: ParentNode & Node): boolean {
  const previous = element.previousSibling;
  return (
    element.nodeName === 'TBODY' &&
    (!previous || (previous.nodeName === 'THEAD' && /^\s*$/i.test(previous.textContent ?? '')))
  );
}

export function htmlToMarkdown(html: string): string {
  const depth = nestingDepth(html);
  if (depth > MAX_DEPTH)
    throw permanent(`the HTML nests elements ${depth} levels deep (more than ${MAX_DEPTH}): refusing to convert it`);
  let markdown: string;
  imagesSeen = 0;
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
/** Their content is text to the parser, not tags. */
const RAW_TEXT = new Set(['script', 'style', 'textarea', 'title', 'xmp', 'iframe', 'noembed', 'noframes']);
const FOREIGN = new Set(['svg', 'math']);
/** What an element's content nests inside in the DOM, though the markup may not spell it: a table's
 * cells are in table > tbody > tr > td, a list's items in ul > li. */
const IMPLIED_LEVELS = new Map([
  ['table', 4],
  ['ul', 2],
  ['ol', 2],
  ['dl', 2],
  ['select', 2],
]);

const isAlpha = (c: number) => (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
const isTagNameChar = (c: number) => isAlpha(c) || (c >= 48 && c <= 57) || c === 45 || c === 58 || c === 95;

/** An ASCII letter's lower case code (other codes unchanged). */
const lowerCode = (c: number) => (c >= 65 && c <= 90 ? c + 32 : c);

/** Where `needle` (lower case ASCII) next starts in `text` from `from`, ignoring ASCII case, or -1.
 * A plain loop: V8's optimised String.prototype.indexOf was measured orders of magnitude slower
 * inside these loops on some two-byte strings (~17 µs a call on 60 kB of text). */
function find(text: string, needle: string, from: number): number {
  const first = needle.charCodeAt(0);
  outer: for (let p = from; p <= text.length - needle.length; p++) {
    if (lowerCode(text.charCodeAt(p)) !== first) continue;
    for (let q = 1; q < needle.length; q++)
      if (lowerCode(text.charCodeAt(p + q)) !== needle.charCodeAt(q)) continue outer;
    return p;
  }
  return -1;
}

/**
 * How deep open tags nest, read the way an HTML parser tokenizes (tags, quoted attribute values,
 * comments, raw-text elements; "/>" closes only inside SVG and MathML), in one forward pass of
 * character codes: no DOM, and linear whatever the markup, since the position only moves forward.
 */
export function nestingDepth(html: string): number {
  const n = html.length;
  let depth = 0;
  let max = 0;
  let foreignAt = 0; // the depth at which an <svg> or <math> opened (0: not inside one)
  let i = 0;
  while (i < n) {
    if (html.charCodeAt(i++) !== 60) continue; // "<"
    const first = html.charCodeAt(i);
    if (first === 33 && html.charCodeAt(i + 1) === 45 && html.charCodeAt(i + 2) === 45) {
      const end = find(html, '-->', i + 3); // <!-- comment -->
      if (end < 0) break;
      i = end + 3;
      continue;
    }
    const closing = first === 47;
    const nameStart = closing ? i + 1 : i;
    if (!isAlpha(html.charCodeAt(nameStart))) {
      if (first === 33 || first === 63 || closing) {
        const gt = find(html, '>', i);
        if (gt < 0) break;
        i = gt + 1;
      }
      continue; // a "<" that starts no tag is text
    }
    let j = nameStart;
    while (j < n && isTagNameChar(html.charCodeAt(j))) j++;
    const name = html.slice(nameStart, j).toLowerCase();
    let quote = 0;
    let k = j;
    for (; k < n; k++) {
      const c = html.charCodeAt(k);
      if (quote) {
        if (c === quote) quote = 0;
      } else if (c === 34 || c === 39) quote = c;
      else if (c === 62) break;
    }
    if (k >= n) break; // an unterminated tag at the end: the parser drops it
    i = k + 1;
    if (closing) {
      if (!NOT_NESTING.has(name)) depth = Math.max(0, depth - (IMPLIED_LEVELS.get(name) ?? 1));
      if (FOREIGN.has(name) && depth < foreignAt) foreignAt = 0;
      continue;
    }
    const selfClosed = foreignAt > 0 && html.charCodeAt(k - 1) === 47;
    if (NOT_NESTING.has(name) || selfClosed) continue;
    depth += IMPLIED_LEVELS.get(name) ?? 1;
    if (depth > max) max = depth;
    if (FOREIGN.has(name) && !foreignAt) foreignAt = depth;
    if (RAW_TEXT.has(name)) {
      const end = find(html, `</${name}`, i);
      if (end < 0) break;
      i = end;
    }
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

/** The text of HTML without a DOM, in one pass of character codes (linear whatever the markup):
 * comments, scripts and styles dropped, block tags as line breaks, other tags removed. */
export function plainText(html: string): string {
  const n = html.length;
  const out: string[] = [];
  let textStart = 0;
  let i = 0;
  while (i < n) {
    if (html.charCodeAt(i) !== 60) {
      i++;
      continue;
    }
    const next = html.charCodeAt(i + 1);
    if (!isAlpha(next) && next !== 47 && next !== 33 && next !== 63) {
      i++; // a "<" that starts no tag is text
      continue;
    }
    out.push(html.slice(textStart, i));
    if (html.startsWith('<!--', i)) {
      const end = find(html, '-->', i + 4);
      i = end < 0 ? n : end + 3;
      textStart = i;
      continue;
    }
    const gt = find(html, '>', i + 1);
    if (gt < 0) {
      textStart = n; // an unterminated tag at the end: no text after it
      break;
    }
    let j = html.charCodeAt(i + 1) === 47 ? i + 2 : i + 1;
    const nameStart = j;
    while (j < gt && isTagNameChar(html.charCodeAt(j))) j++;
    const name = html.slice(nameStart, j).toLowerCase();
    i = gt + 1;
    if (SKIPPED.has(name) && html.charCodeAt(nameStart - 1) !== 47) {
      const close = find(html, `</${name}`, i);
      i = close < 0 ? n : close;
    } else out.push(BREAKS.has(name) ? '\n' : ' ');
    textStart = i;
  }
  out.push(html.slice(textStart, n));
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
