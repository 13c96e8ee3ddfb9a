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
// tvdb ingest (waiting) and tvdb demo run the whole pipeline in this one process on someone's
// machine, where peak memory matters more than the main thread's allocation speed (CPU work runs
// in worker threads): V8 keeps the young generation at its starting size instead of doubling it
// up to 3 x 16 MB, ~50 MB less peak RSS on a large document (npm run bench:memory). V8 reads the
// flag each time it would grow the young generation, so it is set before anything is loaded.
// serve and worker, which serve throughput, keep V8's default (see DECISIONS.md).
const [command, ...rest] = process.argv.slice(2);
if (command === 'demo' || (command === 'ingest' && !rest.includes('--no-wait')))
  (await import('node:v8')).setFlagsFromString('--semi-space-growth-factor=1');
const { main } = await import('../cli/main.ts');
process.exitCode = await main(process.argv.slice(2));
