/**
 * `deno task start` / `deno run -P mod.ts`: the shared command line (`src/cli/run.ts`) on Deno.
 * A permission Deno was not given ends the program with one line naming the flag to add (exit 2),
 * never a stack trace; `deno.json`'s permission set (`-P`) grants exactly what the broker needs.
 *
 * The server (serve.ts) is loaded only once the command line has been read, and without `ws`
 * reading the environment (load-server.ts).
 */
import packageJson from '../../../package.json' with { type: 'json' };
import { CLI_ENVIRONMENT, UsageError } from '../../cli/args.ts';
import { runCli } from '../../cli/run.ts';
import { warnAboutOpenFileLimit } from '../open-file-limit.ts';
import { permissionProblem } from './permissions.ts';
import { descriptorsFor } from './descriptors.ts';
import { loadServer } from './load-server.ts';
import { listenForSignals } from './signal-relay.ts';

const encoder = new TextEncoder();

export async function main(argv: readonly string[] = Deno.args): Promise<void> {
  try {
    await runCli({
      argv,
      env: grantedEnvironment(),
      version: packageJson.version,
      readTextFile(path) {
        try {
          return Deno.readTextFileSync(path);
        } catch (error) {
          const problem = permissionProblem(error);
          if (problem) throw new UsageError(problem);
          throw error;
        }
      },
      stdout: (text) => writeAll(Deno.stdout, text),
      stderr: (text) => writeAll(Deno.stderr, text),
      exit: (code) => Deno.exit(code),
      async serve(options) {
        warnAboutOpenFileLimit(options.maxConnections, (text) => writeAll(Deno.stderr, text), descriptorsFor(options.maxConnections)?.limit);
        const { serveBroker } = await loadServer();
        return serveBroker(options);
      },
      onSignal: (handler) => void listenForSignals(['SIGINT', 'SIGTERM'], handler),
      setUnrefTimeout: (fn, ms) => Deno.unrefTimer(setTimeout(fn, ms)),
    });
  } catch (error) {
    const problem = permissionProblem(error);
    if (!problem) throw error;
    writeAll(Deno.stderr, `broker-hono: ${problem}\n`);
    Deno.exit(2);
  }
}

/**
 * The CLI's environment variables that Deno lets the program read. They are optional, so each is
 * read only where access is already granted (`querySync` never prompts): `--help` needs no
 * permission, and a plain `deno run mod.ts` in a terminal asks once, for the network.
 */
function grantedEnvironment(): Record<string, string | undefined> {
  const granted = CLI_ENVIRONMENT.filter((variable) => Deno.permissions.querySync({ name: 'env', variable }).state === 'granted');
  return Object.fromEntries(granted.map((name) => [name, Deno.env.get(name)]));
}

function writeAll(stream: { writeSync(bytes: Uint8Array): number }, text: string): void {
  let bytes = encoder.encode(text);
  while (bytes.byteLength > 0) bytes = bytes.subarray(stream.writeSync(bytes));
}
