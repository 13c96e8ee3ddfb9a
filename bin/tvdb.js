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
// V8 keeps the young generation at its starting size instead of doubling it up to 3 x 16 MB: the
// main thread only orchestrates (CPU work runs in worker threads), and large strings then cost
// old space they are promoted to and freed from, not a young generation that grows and keeps its
// pages. Measured: peak RSS of `tvdb ingest` ~50 MB lower on a large document (bench:memory), the
// server's RSS under a hostile flood bounded (test/hostile-webhooks), webhook intake unchanged
// within noise (bench:webhook). V8 reads the flag each time it would grow the space, so setting it
// here, before anything is loaded, works.
(await import('node:v8')).setFlagsFromString('--semi-space-growth-factor=1');
const { main } = await import('../cli/main.ts');
process.exitCode = await main(process.argv.slice(2));
