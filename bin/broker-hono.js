#!/usr/bin/env node
// `npx broker-hono`. A packed package runs the build that `npm pack` made (dist/, `prepack`); a
// clone runs the TypeScript itself through tsx (a dev dependency) until `npm run build` makes
// dist/: no install script, so consumers' installs run nothing and `npm ci` in a clone builds nothing.
import { existsSync } from 'node:fs';

const built = new URL('../dist/src/adapters/node/cli.js', import.meta.url);
const source = new URL('../src/adapters/node/cli.ts', import.meta.url);

async function loadCli() {
  if (existsSync(built)) return import(built.href);
  let tsx;
  try {
    tsx = await import('tsx/esm/api');
  } catch {
    // A clone installed without dev dependencies (`npm ci --omit=dev`): nothing can run the source.
    process.stderr.write('broker-hono: dist/ is not built and tsx is not installed: run `npm ci` (with dev dependencies) or `npm run build` in this clone, or install the published package\n');
    process.exit(1);
  }
  tsx.register();
  return import(source.href);
}

const { main } = await loadCli();
main(process.argv.slice(2)).catch((error) => {
  process.stderr.write(`broker-hono: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
