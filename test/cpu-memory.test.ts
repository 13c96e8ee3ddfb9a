// Issue 22: a CPU thread that exceeds its memory in any way fails its document with the reason
// and never takes its process down. resourceLimits bounds the JS heap only; memory outside it
// (Buffers, ArrayBuffers) is watched by the pool while a task runs (lib/cpu/pool.ts). The document
// that shows it: a 600 KB PDF whose page content stream inflates to 600 MB (pdf.js keeps a decoded
// stream in one growing ArrayBuffer), which before the watch grew the process by as much.
import test from 'ava';
import { createDeflate } from 'node:zlib';
import { createCpuPool } from '../lib/cpu/pool.ts';
import { StageError } from '../lib/errors.ts';

async function flateBombPdf(megabytes: number): Promise<Buffer> {
  const deflate = createDeflate({ level: 9 });
  const out: Buffer[] = [];
  deflate.on('data', (d: Buffer) => out.push(d));
  const done = new Promise((resolve) => deflate.on('end', resolve));
  deflate.write('BT /F1 12 Tf 72 720 Td (A page) Tj ET\n');
  const block = Buffer.alloc(1 << 20, ' ');
  for (let i = 0; i < megabytes; i++)
    if (!deflate.write(block)) await new Promise((resolve) => deflate.once('drain', resolve));
  deflate.end();
  await done;
  const stream = Buffer.concat(out);
  const objects = [
    '<< /Type /Catalog /Pages 2 0 R >>',
    '<< /Type /Pages /Kids [3 0 R] /Count 1 >>',
    '<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>',
    null,
    '<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>',
  ];
  const parts: Buffer[] = [Buffer.from('%PDF-1.4\n')];
  const offsets: number[] = [];
  let at = parts[0]!.length;
  objects.forEach((body, i) => {
    const chunk =
      body === null
        ? Buffer.concat([
            Buffer.from(`${i + 1} 0 obj\n<< /Length ${stream.length} /Filter /FlateDecode >>\nstream\n`),
            stream,
            Buffer.from('\nendstream\nendobj\n'),
          ])
        : Buffer.from(`${i + 1} 0 obj\n${body}\nendobj\n`);
    offsets.push(at);
    parts.push(chunk);
    at += chunk.length;
  });
  const xref =
    `xref\n0 ${objects.length + 1}\n0000000000 65535 f \n` +
    offsets.map((o) => `${String(o).padStart(10, '0')} 00000 n \n`).join('') +
    `trailer\n<< /Size ${objects.length + 1} /Root 1 0 R >>\nstartxref\n${at}\n%%EOF\n`;
  parts.push(Buffer.from(xref));
  return Buffer.concat(parts);
}

test('a thread whose memory outside the JS heap passes the limit fails its document with the reason; the process and the pool carry on', async (t) => {
  const pdf = await flateBombPdf(600);
  t.true(pdf.length < 1 << 20, `${pdf.length} bytes`);
  const cpu = createCpuPool({ threads: 1, timeoutS: 120, memoryMb: 128 });
  t.teardown(() => cpu.close());
  let peak = 0;
  const sample = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 20);
  const before = process.memoryUsage().rss;
  const started = performance.now();
  const error = await t.throwsAsync(cpu.parse(pdf));
  clearInterval(sample);
  t.true(error instanceof StageError && error.errorClass === 'permanent');
  t.regex(error!.message, /^exceeded 128 MB of memory outside the JavaScript heap \(\d+ MB of buffers\) while parsing/);
  t.log(
    `${error!.message}: after ${((performance.now() - started) / 1000).toFixed(1)} s; the process grew by at most ${((peak - before) / 2 ** 20).toFixed(0)} MB`,
  );
  t.true(peak - before < 600 * 2 ** 20, 'stopped well before the 600 MB the stream inflates to');
  // The pool replaces the thread: the next document parses.
  const next = await cpu.parse(Buffer.from('# After\n\nThe next document parses in a new thread.'));
  t.regex(next.pages[0]!.markdown, /next document/);
});
