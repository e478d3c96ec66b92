/**
 * Starting real broker processes for black-box tests. A `Launcher` starts one broker (any
 * runtime, standalone or mounted) and says where it is; suites take a launcher so the same
 * tests run against every way the broker can be started.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, type Server } from 'node:net';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import type { BrokerStats } from '../../mod.ts';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const CLI = join(ROOT, 'bin', 'broker-hono.js');

export interface RunningServer {
  /** Base HTTP URL of the broker, mount prefix included, no trailing slash: `http://127.0.0.1:PORT/broker`. */
  readonly httpUrl: string;
  /** The same as ws://. */
  readonly wsUrl: string;
  readonly child: ChildProcess;
  /** Everything the process wrote so far. */
  output(): string;
  /** Sends a signal (default SIGTERM) and resolves with the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

export type Launcher = (args?: string[]) => Promise<RunningServer>;

export interface SpawnOptions {
  env?: Record<string, string>;
  /** Where to run (default: the repository). */
  cwd?: string;
  /**
   * In a process group of its own, as a supervisor starts a service: what the process does with
   * a signal (npm passes SIGINT on to its whole group) stays out of the test runner's group.
   */
  detached?: boolean;
  /** Path prefix the broker is mounted under (for mounted launchers), e.g. '/broker'. */
  prefix?: string;
  timeoutMs?: number;
}

/**
 * Spawns `command args` and waits for its first `Listening at http://HOST:PORT` line (or Deno's
 * `Listening on`). Host `*` or `0.0.0.0` becomes 127.0.0.1.
 */
export function spawnBroker(command: string, args: string[], options: SpawnOptions = {}): Promise<RunningServer> {
  const child = spawn(command, args, {
    cwd: options.cwd ?? ROOT,
    detached: options.detached ?? false,
    env: { ...process.env, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`broker did not start within ${options.timeoutMs ?? 20000} ms:\n${output}`));
    }, options.timeoutMs ?? 20000);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      // "Listening at" is the broker's; "Listening on" is Deno.serve's own (a mounted service).
      const match = /Listening (?:at|on) http:\/\/([^\s]+):(\d+)/.exec(output);
      if (!match) return;
      clearTimeout(timer);
      const host = match[1] === '*' || match[1] === '0.0.0.0' || match[1] === '[::]' ? '127.0.0.1' : match[1];
      const base = `${host}:${match[2]}${options.prefix ?? ''}`;
      resolve({
        httpUrl: `http://${base}`,
        wsUrl: `ws://${base}`,
        child,
        output: () => output,
        async stop(signal = 'SIGTERM') {
          if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
          child.kill(signal);
          const kill = setTimeout(() => child.kill('SIGKILL'), 8000);
          const code = await exited;
          clearTimeout(kill);
          return code;
        },
      });
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`broker exited with ${code} before listening:\n${output}`));
    });
  });
}

/** A TCP server holding a free port of 127.0.0.1, for "address already in use" tests. */
export function listenOn(): Promise<Server> {
  return new Promise((resolve) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => resolve(server));
  });
}

/** The Node CLI on a free port of 127.0.0.1. */
export const nodeCli: Launcher = (args = []) =>
  spawnBroker(process.execPath, [CLI, '-l', 'http://127.0.0.1:0', ...args]);

export interface Finished {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a program to completion in the repository (for usage and permission errors). */
export function runToEnd(command: string, args: string[], env: Record<string, string> = {}, timeoutMs = 60_000): Promise<Finished> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${command} ${args.join(' ')} did not exit within ${timeoutMs} ms:\n${stdout}${stderr}`));
    }, timeoutMs);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** Runs the Node CLI to completion (for usage errors): exit code and output. */
export function runCli(args: string[], env: Record<string, string> = {}, timeoutMs = 15000): Promise<Finished> {
  return runToEnd(process.execPath, [CLI, ...args], env, timeoutMs);
}

/** GET /stats, as the broker's `BrokerStats`. */
export async function stats(server: RunningServer): Promise<BrokerStats> {
  const response = await fetch(`${server.httpUrl}/stats`);
  return (await response.json()) as BrokerStats;
}

/** Polls /stats until `predicate` holds (or fails after `timeoutMs` with the last value). */
export async function waitForStats(server: RunningServer, predicate: (s: BrokerStats) => boolean, timeoutMs = 5000): Promise<BrokerStats> {
  const deadline = Date.now() + timeoutMs;
  let last = await stats(server);
  while (!predicate(last)) {
    if (Date.now() > deadline) throw new Error(`stats never matched: ${JSON.stringify(last)}`);
    await new Promise((r) => setTimeout(r, 25));
    last = await stats(server);
  }
  return last;
}
