/**
 * `npx broker-hono`: the shared command line (`src/cli/run.ts`) on Node. Usage errors are one line
 * and exit 2; a listen failure is one line and exit 1; SIGINT/SIGTERM close every socket with 1001
 * and exit 0.
 */
import { readFileSync, existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runCli } from '../../cli/run.ts';
import { processCliHost } from '../process-cli-host.ts';
import { openFileLimit, warnAboutOpenFileLimit } from '../open-file-limit.ts';
import { serveBroker } from './serve.ts';

export async function main(argv: readonly string[]): Promise<void> {
  await runCli({
    argv,
    env: process.env,
    version: packageVersion(),
    ...processCliHost,
    serve(options) {
      warnAboutOpenFileLimit(options.maxConnections, processCliHost.stderr, openFileLimit());
      return serveBroker(options);
    },
  });
}

let version: string | undefined;
export function packageVersion(): string {
  if (version) return version;
  // The file runs from src/ (tsx) or dist/src/ (built): walk up to our package.json.
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++, dir = dirname(dir)) {
    const candidate = join(dir, 'package.json');
    if (existsSync(candidate)) {
      const pkg = JSON.parse(readFileSync(candidate, 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'broker-hono') return (version = pkg.version ?? '0.0.0');
    }
  }
  return (version = '0.0.0');
}
