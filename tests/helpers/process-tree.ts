/**
 * A launcher's whole process tree, as a supervisor leaves it after signalling the one process it
 * started (Linux `/proc`): which processes it spawned, and whether any of them is still there.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { spawnBroker, waitForStats } from './server.ts';
import { open } from './ws-client.ts';
import { openSse } from './sse-client.ts';

/** `pid` and every process below it. */
export function processTree(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = readStat(Number(entry));
    if (!stat) continue;
    children.set(stat.ppid, [...(children.get(stat.ppid) ?? []), Number(entry)]);
  }
  const tree = [pid];
  for (let i = 0; i < tree.length; i++) tree.push(...(children.get(tree[i]!) ?? []));
  return tree;
}

/** Whether `pid` is still a process that runs (a zombie waiting for its parent has ended). */
export function isRunning(pid: number): boolean {
  const stat = readStat(pid);
  return stat !== undefined && stat.state !== 'Z';
}

function readStat(pid: number): { ppid: number; state: string } | undefined {
  try {
    // The command name is in parentheses and may hold spaces: the fields after it are fixed.
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
    return { state: fields[0]!, ppid: Number(fields[1]) };
  } catch {
    return undefined;
  }
}

/** Whether something accepts connections on `port` of 127.0.0.1. */
export function isListening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

export interface SignalOutcome {
  /** From the signal to the last process of the tree gone and the port closed. */
  elapsedMs: number;
  output: string;
}

/**
 * Starts `command args` (it must print `Listening at`), opens a WebSocket and an SSE subscriber
 * (and checks a message published by POST reaches them), sends `signal` (or each signal in turn) to the started process alone and asserts: the
 * WebSocket gets 1001, the stream ends, every process of the tree ends and the port is free, all
 * within 5 s of the (last) signal.
 */
export async function expectSignalClosesTree(command: string, args: string[], signal: NodeJS.Signals | NodeJS.Signals[], options: { cwd?: string; env?: Record<string, string> } = {}): Promise<SignalOutcome> {
  const server = await spawnBroker(command, args, { ...options, detached: true, timeoutMs: 60_000 });
  const tree = processTree(server.child.pid!);
  try {
    const socket = await open(`${server.wsUrl}/sub/signals`);
    const stream = await openSse(`${server.httpUrl}/sub/signals`);
    await waitForStats(server, (s) => s.connections === 2, 10_000);
    // It serves: a message published by POST reaches both.
    assert.equal((await fetch(`${server.httpUrl}/pub/signals`, { method: 'POST', body: 'before the signal' })).status, 200);
    assert.deepEqual(await socket.waitFor(1, 10_000), [{ data: 'before the signal', binary: false }]);
    assert.equal((await stream.waitForEvents(1, 10_000))[0]!.data, 'before the signal');
    const port = Number(new URL(server.httpUrl).port);
    // Several signals (a supervisor's SIGINT, then its SIGKILL): the clock starts at the last.
    const signals = Array.isArray(signal) ? signal : [signal];
    for (const earlier of signals.slice(0, -1)) {
      server.child.kill(earlier);
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    const started = Date.now();
    server.child.kill(signals[signals.length - 1]);
    const closed = await within(socket.closed, 5000, () => `no close frame within 5 s of ${signals.join(', ')}:\n${server.output()}`);
    assert.equal(closed.code, 1001, server.output());
    await stream.waitForEnd(5000);
    while (tree.some(isRunning) || (await isListening(port))) {
      assert.ok(Date.now() - started < 5000, `still running after 5 s: ${tree.filter(isRunning).join(', ')}\n${server.output()}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    assert.match(server.output(), /closing every connection/);
    return { elapsedMs: Date.now() - started, output: server.output() };
  } finally {
    for (const pid of tree.filter(isRunning)) process.kill(pid, 'SIGKILL');
  }
}

/** `promise`, or a failure saying `what` once `ms` have passed. */
function within<T>(promise: Promise<T>, ms: number, what: () => string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const expired = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(what())), ms)));
  return Promise.race([promise, expired]).finally(() => clearTimeout(timer));
}
