#!/usr/bin/env node
// The built CLI (npm's `prepare` runs the TypeScript build on install).
import { main } from '../dist/src/adapters/node/cli.js';

main(process.argv.slice(2)).catch((error) => {
  process.stderr.write(`broker-hono: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
