/**
 * `bun run mod.ts`: the shared command line (`src/cli/run.ts`) on Bun, with the same flags,
 * messages and exit codes as `npx broker-hono` on Node.
 */
import packageJson from '../../../package.json' with { type: 'json' };
import { runCli } from '../../cli/run.ts';
import { processCliHost } from '../process-cli-host.ts';
import { openFileLimit, warnAboutOpenFileLimit } from '../open-file-limit.ts';
import { serveBroker } from './serve.ts';

export async function main(argv: readonly string[] = Bun.argv.slice(2)): Promise<void> {
  await runCli({
    argv,
    env: Bun.env,
    version: packageJson.version,
    ...processCliHost,
    serve(options) {
      warnAboutOpenFileLimit(options.maxConnections, processCliHost.stderr, openFileLimit());
      return serveBroker(options);
    },
  });
}
