// HTML documents for the poison-document tests: text encodings with a BOM, the shape of the
// datasheet issue 14 found (UTF-16LE, tables nested in cells, an empty table), deep nesting.

export type Encoding = 'utf8' | 'utf16le' | 'utf16be';

/** The bytes of an HTML text in an encoding; UTF-16 with its byte-order mark, as editors save it. */
export function encodeHtml(html: string, encoding: Encoding): Buffer {
  if (encoding === 'utf8') return Buffer.from(html, 'utf8');
  const le = Buffer.from(html, 'utf16le');
  if (encoding === 'utf16le') return Buffer.concat([Buffer.from([0xff, 0xfe]), le]);
  return Buffer.concat([Buffer.from([0xfe, 0xff]), Buffer.from(le).swap16()]);
}

/** Text in the datasheet's cells, for assertions. */
export const DATASHEET_CELLS = [
  'LM7805 Voltage Regulator',
  'Output voltage',
  '4.8 V',
  '5.2 V',
  'TO-220 — 3 leads',
  '25 °C',
];

/** A datasheet in the shape of the document: UTF-16LE with a BOM, tables nested in table
 * cells, one of them empty, one with a caption only. */
export function utf16Datasheet(): Buffer {
  const html = `<!DOCTYPE html>
<html><head><meta http-equiv="Content-Type" content="text/html; charset=utf-16"><title>LM7805 datasheet</title>
<style>td { border: 1px solid }</style></head>
<body>
<h1>LM7805 Voltage Regulator</h1>
<table border="1" cellpadding="2">
  <tr><td>Parameter</td><td>Conditions</td><td>Values</td></tr>
  <tr><td>Output voltage</td><td>T<sub>J</sub> = 25 °C</td>
      <td><table><tr><td>Min</td><td>Typ</td><td>Max</td></tr><tr><td>4.8 V</td><td>5.0 V</td><td>5.2 V</td></tr></table></td></tr>
  <tr><td>Line regulation</td><td><table></table></td><td><table><caption>mV</caption></table></td></tr>
  <tr><td>Package</td><td colspan="2"><table><tr><td><table><tr><td>TO-220 — 3 leads</td></tr></table></td></tr></table></td></tr>
</table>
<p>Dropout voltage 2.0 V at I<sub>O</sub> = 1 A.</p>
</body></html>`;
  return encodeHtml(html, 'utf16le');
}

/** `levels` nested divs around a word, in an html/body document (two levels more). */
export function nestedDivs(levels: number): Buffer {
  return Buffer.from(`<html><body>${'<div>'.repeat(levels)}deep${'</div>'.repeat(levels)}</body></html>`);
}
