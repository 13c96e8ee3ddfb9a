// The read-only /status page: the same sections as `tvdb status --watch`, as HTML. The page swaps
// in a fresh fragment every few seconds (same URL, ?fragment=1), so the browser's credentials for
// the page carry over; without JavaScript it is still a complete page, refreshed by reload.
import { statusHeadline, statusSections, type Cell } from './sections.ts';
import type { Snapshot } from './snapshot.ts';

const escapeHtml = (value: Cell) =>
  String(value ?? '-').replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!,
  );

/** Columns of words, aligned left (numbers align right). */
const TEXT_COLUMNS = new Set(['stage', 'class', 'message', 'severity', 'at', 'state']);

export function statusFragment(snapshot: Snapshot): string {
  const sections = statusSections(snapshot).map((section) => {
    const head = `<tr><th>${escapeHtml(section.keyLabel)}</th>${section.columns
      .map((c) => `<th${TEXT_COLUMNS.has(c.id) ? ' class="text"' : ''}>${escapeHtml(c.label)}</th>`)
      .join('')}</tr>`;
    const body = section.rows.length
      ? section.rows
          .map(
            (row) =>
              `<tr><th scope="row">${escapeHtml(row.key)}</th>${row.cells
                .map(
                  (cell, i) =>
                    `<td data-cell="${escapeHtml(`${section.id}/${row.key}/${section.columns[i]!.id}`)}"${
                      TEXT_COLUMNS.has(section.columns[i]!.id) ? ' class="text"' : ''
                    }>${escapeHtml(cell)}</td>`,
                )
                .join('')}</tr>`,
          )
          .join('')
      : `<tr><td class="empty" colspan="${section.columns.length + 1}">${escapeHtml(section.empty)}</td></tr>`;
    return `<section id="${section.id}"><h2>${escapeHtml(section.title)}</h2><table><thead>${head}</thead><tbody>${body}</tbody></table></section>`;
  });
  return `<p id="headline" data-updated-at="${snapshot.at}">${escapeHtml(statusHeadline(snapshot))}</p><div id="sections">${sections.join('')}</div>`;
}

export function statusPage(snapshot: Snapshot, refreshS: number): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>tvdb pipeline status</title>
<style>
  body { font: 14px/1.4 system-ui, sans-serif; margin: 1.5rem; color: #1d1d1f; }
  h1 { font-size: 1.3rem; margin: 0 0 .3rem; }
  h2 { font-size: 1rem; margin: 1.2rem 0 .3rem; }
  #headline { font-family: ui-monospace, monospace; white-space: pre-wrap; }
  #sections { display: grid; grid-template-columns: repeat(auto-fill, minmax(34rem, 1fr)); gap: 0 2.5rem; }
  section { min-width: 0; overflow-x: auto; }
  #errors, #alerts { grid-column: 1 / -1; }
  table { border-collapse: collapse; width: 100%; }
  th, td { padding: .15rem .5rem; border-bottom: 1px solid #e3e3e6; text-align: right; white-space: nowrap; }
  th:first-child, td.empty, .text { text-align: left; }
  td:last-child { white-space: normal; }
  td.empty { color: #6e6e73; }
  #refresh-error { color: #b3261e; }
</style>
</head>
<body>
<h1>tvdb pipeline status</h1>
<p>Read-only; refreshes every ${refreshS} s. <span id="refresh-error" role="alert"></span></p>
<div id="status">${statusFragment(snapshot)}</div>
<script>
  const REFRESH_MS = ${refreshS * 1000};
  const errorLine = document.getElementById('refresh-error');
  async function refresh() {
    try {
      const url = new URL(location.href);
      url.searchParams.set('fragment', '1');
      const response = await fetch(url, { credentials: 'same-origin', cache: 'no-store' });
      if (!response.ok) throw new Error('HTTP ' + response.status);
      document.getElementById('status').innerHTML = await response.text();
      errorLine.textContent = '';
    } catch (error) {
      errorLine.textContent = 'refresh failed (' + error.message + '); showing older numbers, retrying';
    } finally {
      setTimeout(refresh, REFRESH_MS);
    }
  }
  setTimeout(refresh, REFRESH_MS);
</script>
</body>
</html>
`;
}
