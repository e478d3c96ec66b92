/**
 * Small checks the test files share: waiting on a condition or on a broker's output, and
 * asserting that a broker's output holds no stack trace (a client's mistake is one log line).
 */
import { after, before } from 'node:test';
import assert from 'node:assert/strict';
import { CLI, spawnBroker, type RunningServer } from './server.ts';
import { rawExchange, statusOf } from './raw-ws.ts';

/**
 * Polls `check` until it is true, or fails after `timeoutMs` naming `what` (a function is asked
 * only then, so it can describe the state at the time of failure).
 */
export async function waitUntil(what: string | (() => string), check: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${typeof what === 'string' ? what : what()}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Waits until the broker's output so far satisfies `predicate`. */
export async function waitForOutput(server: RunningServer, predicate: (text: string) => boolean, timeoutMs = 10_000): Promise<void> {
  await waitUntil(() => `the output to match; it is:\n${server.output()}`, () => predicate(server.output()), timeoutMs);
}

/** A stack frame line as V8 prints them ("    at fn (file:1:2)"). */
const STACK_FRAME = /^\s+at\s.+(\(.*:\d+:\d+\)|:\d+:\d+)\s*$/m;

/** Fails if the broker printed a stack trace or an uncaught error. */
export function assertNoStackTrace(server: RunningServer): void {
  const output = server.output();
  assert.doesNotMatch(output, STACK_FRAME, `broker printed a stack trace:\n${output.slice(-4000)}`);
  assert.doesNotMatch(output, /Uncaught|UnhandledPromiseRejection|unhandled/i, `broker reported an unhandled error:\n${output.slice(-4000)}`);
}

/** Lines of the broker's output that contain `text`. */
export function logLines(server: RunningServer, text: string | RegExp): string[] {
  return matching(server.output().split('\n'), text);
}

function matching(lines: string[], text: string | RegExp): string[] {
  return lines.filter((line) => (typeof text === 'string' ? line.includes(text) : text.test(line)));
}

/** The broker's own line for a POST refused as too large: the sentinel below. */
const isSentinelLine = (line: string) => line.includes('refused POST /pub/log-sentinel: 413 ');

/** Index of the `n`th sentinel line (from 1), or -1. */
function nthSentinel(lines: string[], n: number): number {
  let seen = 0;
  for (let i = 0; i < lines.length; i++) if (isSentinelLine(lines[i]!) && ++seen === n) return i;
  return -1;
}

/**
 * The broker's log lines containing `text`, counted exactly: up to a sentinel line instead of
 * "whatever arrived within N ms". The sentinel is a POST whose declared body is far over any
 * maxMessageSize, refused at once with one "refused POST /pub/log-sentinel: 413" line. The broker writes every
 * log line to one stream in the order it handles things, and what the test did before was
 * answered (so handled, and logged) before the sentinel was sent: all of its lines are above.
 */
export async function logLinesUpToSentinel(server: RunningServer, text: string | RegExp): Promise<string[]> {
  const sentinel = server.output().split('\n').filter(isSentinelLine).length + 1;
  const response = await rawExchange(server.httpUrl, `POST /pub/log-sentinel HTTP/1.1\r\nHost: x\r\nContent-Length: ${2 ** 40}\r\n\r\n`);
  assert.equal(statusOf(response), 413, `the sentinel POST: ${response}`);
  await waitUntil('the sentinel log line', () => nthSentinel(server.output().split('\n'), sentinel) !== -1);
  const lines = server.output().split('\n');
  return matching(lines.slice(0, nthSentinel(lines, sentinel)), text);
}

/** The broker process is still running. */
export function assertAlive(server: RunningServer): void {
  assert.equal(server.child.exitCode, null, `broker exited:\n${server.output().slice(-4000)}`);
  assert.equal(server.child.signalCode, null, `broker was killed:\n${server.output().slice(-4000)}`);
}

/** `GET /debug/heap` of a broker started with BROKER_DEBUG_HEAP=1 (after a full GC with --expose-gc). */
export async function heap(server: RunningServer): Promise<{ gc: boolean; rss: number; heapUsed: number; heapTotal: number; external: number; arrayBuffers: number }> {
  const response = await fetch(`${server.httpUrl}/debug/heap`);
  assert.equal(response.status, 200, 'the broker must be started with BROKER_DEBUG_HEAP=1');
  return (await response.json()) as { gc: boolean; rss: number; heapUsed: number; heapTotal: number; external: number; arrayBuffers: number };
}

export const MiB = 1024 * 1024;

/**
 * A broker started once for a `describe` block and checked when it ends: still running, no stack
 * trace in its output. Returns a getter for the running server (it exists once `before` ran).
 */
export function serverForSuite(start: () => Promise<RunningServer>): () => RunningServer {
  let server: RunningServer | undefined;
  before(async () => {
    server = await start();
  });
  after(async () => {
    if (!server) return;
    assertAlive(server);
    assertNoStackTrace(server);
    await server.stop();
  });
  return () => server!;
}

/**
 * A Node CLI broker for a `describe` block whose heap a test can measure with `heap`: started with
 * BROKER_DEBUG_HEAP=1 (the opt-in `/debug/heap` endpoint) and --expose-gc (a full GC before each
 * figure, so what is measured is what is still held). Checked when the block ends, as
 * `serverForSuite` does.
 */
export function debugHeapBroker(): () => RunningServer {
  return serverForSuite(() => spawnBroker(process.execPath, ['--expose-gc', CLI, '-l', 'http://127.0.0.1:0'], { env: { BROKER_DEBUG_HEAP: '1' } }));
}
