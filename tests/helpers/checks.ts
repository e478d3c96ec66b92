/**
 * Small checks the hardening suites share: waiting on a condition, reading a raw HTTP answer,
 * and asserting that a broker's output holds no stack trace (a client's mistake is one log line).
 */
import assert from 'node:assert/strict';
import { stats, waitForStats, type RunningServer } from './server.ts';
import type { BrokerStats } from '../../src/core/counters.ts';

/** Polls `predicate` until it is true; fails with `describe()` after `timeoutMs`. */
export async function waitUntil(predicate: () => boolean | Promise<boolean>, timeoutMs = 5000, describe: () => string = () => ''): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms ${describe()}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
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
  return server.output().split('\n').filter((line) => (typeof text === 'string' ? line.includes(text) : text.test(line)));
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

/** `/stats`, typed (the shared helper returns a plain record). */
export async function brokerStats(server: RunningServer): Promise<BrokerStats> {
  return (await stats(server)) as unknown as BrokerStats;
}

/** `waitForStats`, typed. */
export async function waitForBrokerStats(server: RunningServer, predicate: (s: BrokerStats) => boolean, timeoutMs?: number): Promise<BrokerStats> {
  return (await waitForStats(server, (s) => predicate(s as unknown as BrokerStats), timeoutMs)) as unknown as BrokerStats;
}
