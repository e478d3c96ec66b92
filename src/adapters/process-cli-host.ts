/**
 * What Node and Bun hand the shared command line (`src/cli/run.ts`) in the same way: both have
 * `process` for output, exit and signals, and `node:fs` for the config file. Each runtime's
 * `cli.ts` adds only its argv, environment, version and server.
 */
import { readFileSync } from 'node:fs';
import type { CliHost } from '../cli/run.ts';

export type ProcessCliHost = Pick<CliHost, 'readTextFile' | 'stdout' | 'stderr' | 'exit' | 'onSignal' | 'setUnrefTimeout'>;

export const processCliHost: ProcessCliHost = {
  readTextFile: (path) => readFileSync(path, 'utf8'),
  stdout: (text) => void process.stdout.write(text),
  stderr: (text) => void process.stderr.write(text),
  exit: (code) => process.exit(code),
  onSignal(handler) {
    process.on('SIGINT', () => handler('SIGINT'));
    process.on('SIGTERM', () => handler('SIGTERM'));
  },
  setUnrefTimeout: (fn, ms) => void setTimeout(fn, ms).unref(),
};
