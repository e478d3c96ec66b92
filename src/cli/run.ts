/**
 * The broker's command line, once for every runtime. Each runtime's `cli.ts` hands in what only it
 * can do (argv, environment, files, output, exit, signals, serving); everything a user sees
 * (flags, messages, exit codes, the `Listening at` lines, shutdown) is decided here, so
 * `npx broker-hono`, `deno task start` and `bun run mod.ts` behave the same.
 *
 * Exit codes: 0 after SIGINT/SIGTERM (every socket closed with 1001 within 5 s), 1 when an address
 * cannot be listened on, 2 for a usage error.
 */
import { OptionsError, type BrokerOptions } from '../options.ts';
import { UsageError, helpText, parseCommandLine } from './args.ts';
import { mergeConfiguration, parseConfigFile } from './config.ts';
import { ListenError } from '../serve/listen-error.ts';
import { reachableUrl } from '../serve/listen-address.ts';
import type { ServingBroker } from '../serve/serve-on-runtime.ts';

/** Why the broker shuts down: a signal, or the launcher that started it went away. */
export type ShutdownReason = 'SIGINT' | 'SIGTERM' | 'parent process exited';

/** What only the runtime can do. */
export interface CliHost {
  readonly argv: readonly string[];
  /** The environment variables the CLI reads (see `CLI_ENVIRONMENT`). */
  readonly env: Record<string, string | undefined>;
  readonly version: string;
  /** Reads the `--config` file; throws with a short reason (e.g. `ENOENT`) when it cannot. */
  readTextFile(path: string): string | Promise<string>;
  stdout(text: string): void;
  stderr(text: string): void;
  exit(code: number): never;
  serve(options: BrokerOptions): Promise<ServingBroker>;
  /**
   * Calls `handler` once per SIGINT/SIGTERM, and when the process was orphaned by the launcher
   * that started it (`npx` and `npm start` run the broker under `sh -c`: a SIGTERM to npm ends the
   * shell, never reaching the broker).
   */
  onSignal(handler: (reason: ShutdownReason) => void): void;
  /** Runs `fn` after `ms` without keeping the process alive for it. */
  setUnrefTimeout(fn: () => void, ms: number): void;
}

/**
 * How long shutdown waits for close handshakes, and the hard stop after it (PROTOCOL.md: 5 s).
 * A peer that reads answers a close within milliseconds; one that has not in 2 s is not reading.
 * The hard stop leaves a second to spare, and it is needed: a timer fires only between
 * event-loop tasks, which last up to half a second on a broker flooded by publishers on a loaded
 * machine; cutting the sockets left takes time (on Deno about a millisecond each with megabytes
 * queued); and a process holding a thousand sockets takes a few hundred ms to exit. Measured on
 * Deno under full publishing load (tests/deno-shutdown-under-load.test.ts): exited 5.2–5.7 s
 * after SIGTERM with 3.5 s and 4.5 s; 3.4–4.6 s with 3 s and 4 s; with 2 s and 4 s, and frames
 * arriving after the 1001 no longer taken (SessionRegistry.closing), 2.2–2.8 s (also beside a
 * busy loop on one core).
 */
const CLOSE_DEADLINE_MS = 2000;
const EXIT_DEADLINE_MS = 4000;

export async function runCli(host: CliHost): Promise<void> {
  let options: BrokerOptions;
  try {
    const command = parseCommandLine(host.argv, host.env);
    if (command.kind === 'help') {
      host.stdout(helpText(host.version) + '\n');
      return;
    }
    if (command.kind === 'version') {
      host.stdout(`broker-hono ${host.version}\n`);
      return;
    }
    const fromFile = command.configFile ? parseConfigFile(command.configFile, await readConfig(host, command.configFile)) : {};
    options = mergeConfiguration([fromFile, command.env, command.flags]);
  } catch (error) {
    if (isUsageProblem(error)) fail(host, error.message, 2);
    throw error;
  }

  let running: ServingBroker;
  try {
    running = await host.serve(options);
  } catch (error) {
    if (error instanceof ListenError) fail(host, error.message, 1);
    if (isUsageProblem(error)) fail(host, error.message, 2);
    throw error;
  }
  // Signals are handled before anything is printed: a supervisor that acts on the `Listening at`
  // line may send SIGTERM at once, and that must close every socket with 1001, not kill us.
  let stopping = false;
  host.onSignal((signal) => {
    if (stopping) return;
    stopping = true;
    const started = Date.now();
    host.stdout(`${signal}: closing every connection\n`);
    // Never hang past the protocol's 5 s, whatever a peer does. The times logged tell an operator
    // (and a test that finds the exit late) whether the broker or the process exit was slow.
    host.setUnrefTimeout(() => {
      host.stdout(`exiting with connections still closing, ${Date.now() - started} ms after ${signal}\n`);
      host.exit(0);
    }, EXIT_DEADLINE_MS);
    const closed = () => {
      host.stdout(`closed every connection in ${Date.now() - started} ms\n`);
      host.exit(0);
    };
    running.close(CLOSE_DEADLINE_MS).then(closed, closed);
  });
  for (const url of running.urls) {
    // `http://*:3000` is what was bound, but not a link anyone can follow: name one that is.
    const reachable = reachableUrl(url);
    host.stdout(`Listening at ${url}${reachable ? ` (open ${reachable})` : ''}\n`);
  }
  host.stdout(`broker-hono ${host.version} in ${options.mode} mode${options.mode === 'development' ? ' (demo page at /)' : ''}\n`);
}

function isUsageProblem(error: unknown): error is Error {
  // OptionsError from serving: a file an option names (a certificate, a key) that cannot be used.
  return error instanceof UsageError || error instanceof OptionsError || (error instanceof TypeError && error.message.startsWith('allowOrigin'));
}

function fail(host: CliHost, message: string, code: number): never {
  host.stderr(`broker-hono: ${message}\n`);
  return host.exit(code);
}

async function readConfig(host: CliHost, path: string): Promise<string> {
  try {
    return await host.readTextFile(path);
  } catch (error) {
    if (error instanceof UsageError) throw error;
    const code = (error as { code?: unknown }).code;
    throw new UsageError(`cannot read config file ${path}: ${typeof code === 'string' ? code : (error as Error).message}`);
  }
}
