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
const { main } = await import('../cli/main.ts');
process.exitCode = await main(process.argv.slice(2));
