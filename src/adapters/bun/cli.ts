/**
 * `bun run mod.ts`: the shared command line (`src/cli/run.ts`) on Bun, with the same flags,
 * messages and exit codes as `npx broker-hono` on Node.
 */
import { readFileSync } from 'node:fs';
import packageJson from '../../../package.json' with { type: 'json' };
import { runCli } from '../../cli/run.ts';
import { serveBroker } from './serve.ts';

export async function main(argv: readonly string[] = Bun.argv.slice(2)): Promise<void> {
  await runCli({
    argv,
    env: Bun.env,
    version: packageJson.version,
    readTextFile: (path) => readFileSync(path, 'utf8'),
    stdout: (text) => void process.stdout.write(text),
    stderr: (text) => void process.stderr.write(text),
    exit: (code) => process.exit(code),
    serve: (options) => serveBroker(options),
    onSignal(handler) {
      process.on('SIGINT', () => handler('SIGINT'));
      process.on('SIGTERM', () => handler('SIGTERM'));
    },
    setUnrefTimeout: (fn, ms) => void setTimeout(fn, ms).unref(),
  });
}
