#!/usr/bin/env node
// The tvdb CLI. Plain JavaScript so that an old Node can print a useful message instead of a
// syntax error; everything else is TypeScript that Node 24 runs directly (type stripping).
const major = Number(process.versions.node.split('.')[0]);
if (major < 24) {
  console.error(
    `tvdb needs Node.js 24 or newer; this is ${process.version}.\n` +
      `The project installs Node 24 as a dependency: run "npx tvdb ..." or "npm run tvdb -- ..." from the project folder.`,
  );
  process.exit(1);
}
// The young generation stays at its first size instead of doubling up to V8's default maximum
// (tens of MB per heap): a document's big strings then cost old-space they are promoted to and
// freed from, not a young generation that grows and keeps its pages (measured: peak RSS of `tvdb
// ingest` on War and Peace 312 -> 248-260 MB, DA-619p.pdf 297 -> 262 MB; README, bench:memory).
// V8 reads this flag each time it would grow the space, so setting it here, at run time, works.
const { setFlagsFromString } = await import('node:v8');
setFlagsFromString('--semi-space-growth-factor=1');
const { main } = await import('../cli/main.ts');
process.exitCode = await main(process.argv.slice(2));
