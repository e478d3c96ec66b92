/**
 * Issue 15, "Done when": the attacks of the issue run together against the CLI of each runtime,
 * twice over, and afterwards the broker still serves a new subscriber, every live counter is back
 * at 0, memory is back within a few MiB of where it was, and the log holds no stack trace.
 *
 * Each round runs at once: POST bodies in 1-byte chunks (half of them abandoned), POSTs that
 * stop short of their Content-Length (more than `maxPostsInFlight`), heads and bodies trickled a
 * byte at a time, bad requests (bad Host, CONNECT, backslash paths, ...), clients leaving
 * mid-request, 20 healthy SSE subscribers fed messages of 1 MiB of line breaks, and SSE
 * subscriptions made with a foreign `Upgrade` header, some pipelined, whose clients leave.
 * Timeouts are set short (2 s for heads, 5 s for bodies) so a round takes seconds.
 *
 * Memory: Node and Bun answer `GET /debug/heap` (`BROKER_DEBUG_HEAP=1`; Node with
 * `--expose-gc`) with the heap after a full collection, compared with the heap before the first
 * round. Deno has no such route: its resident memory after the second round is compared with
 * that after the first (an allocator keeps what a first round made it reserve; a leak grows
 * with every round).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { CLI, spawnBroker, waitForStats, type Launcher, type RunningServer } from './helpers/server.ts';
import { BUN, denoCli } from './helpers/runtimes.ts';
import { MiB, assertAlive, assertNoStackTrace, heap } from './helpers/checks.ts';
import { open } from './helpers/ws-client.ts';
import { SseClient } from './helpers/sse-client.ts';
import { BAD_REQUESTS, NODE_ONLY_BAD_REQUESTS } from './helpers/bad-requests.ts';
import * as attack from './helpers/attacks.ts';

const OPTIONS = ['-m', 'production', '--headers-timeout', '2', '--body-timeout', '5', '--max-posts-in-flight', '64'];
const DEBUG_HEAP = { BROKER_DEBUG_HEAP: '1' };
/** Heap after GC may end this much above where it started (Node and Bun). */
const HEAP_SLACK = 4 * MiB;
/** Resident memory may grow this much from the first round's end to the second's (Deno). */
const RSS_SLACK = 16 * MiB;

interface Runtime {
  name: string;
  launch: Launcher;
  memory: 'heap' | 'rss';
  badRequests: readonly string[];
  /** Bun drops an unfinished head after 10–12 s on its own, whatever `headersTimeout` says. */
  headBoundMs: number;
  /**
   * Attacks that fail on this runtime for a finding of issue 15 another branch is fixing, and
   * why. They still run, in the same rounds; their outcome is reported by a `todo` test of its
   * own (visible in every run, not failing it) until that branch lands: then delete the entry.
   */
  pending?: Readonly<Record<string, string>>;
}

const RUNTIMES: Runtime[] = [
  {
    name: 'node CLI',
    launch: (args = []) => spawnBroker(process.execPath, ['--expose-gc', CLI, '-l', 'http://127.0.0.1:0', ...args], { env: DEBUG_HEAP }),
    memory: 'heap',
    badRequests: [...BAD_REQUESTS, ...NODE_ONLY_BAD_REQUESTS],
    headBoundMs: 6000,
  },
  {
    name: 'bun CLI',
    launch: (args = []) => spawnBroker(BUN, ['run', 'mod.ts', '-l', 'http://127.0.0.1:0', ...args], { env: DEBUG_HEAP, timeoutMs: 60_000 }),
    memory: 'heap',
    badRequests: BAD_REQUESTS,
    headBoundMs: 16_000,
  },
  {
    name: 'deno CLI',
    launch: denoCli,
    memory: 'rss',
    // Deno's HTTP layer answers a CONNECT to a path with a bare 400 of its own (as Bun does
    // `OPTIONS *`): JavaScript never sees it.
    badRequests: BAD_REQUESTS.filter((request) => !request.startsWith('CONNECT /')),
    headBoundMs: 6000,
    pending: {
      memory: 'Deno does not give back what bodies and streams cost: resident memory fell 24 MiB from round 1 to round 2 in one idle run, grew 129 MiB in one beside a busy loop (issue 15, still open)',
    },
  },
];

/**
 * One round: every attack at once. Fails naming every attack that failed, and why, except the
 * runtime's pending ones, whose failures go to `pendingFailures`.
 */
async function round(server: RunningServer, runtime: Runtime, pendingFailures: string[], diagnostic: (line: string) => void): Promise<void> {
  const attacks: Array<[string, Promise<void>]> = [
    ['tiny chunks', attack.tinyChunkBodies(server, 4, 100_000)],
    ['held POSTs', attack.heldPosts(server, 80, 1024 * 1024, 256 * 1024, 15_000)],
    ['trickled heads', attack.trickledHeads(server, 10, 200, runtime.headBoundMs)],
    ['trickled bodies', attack.trickledBodies(server, 10, 200, 15_000)],
    ['bad requests', attack.badRequests(server, runtime.badRequests, 5)],
    ['leaving clients', attack.leavingClients(server, 200)],
    ['SSE line breaks', attack.sseLineBreakFlood(server, 20, 2)],
    ['foreign-upgrade SSE', attack.foreignUpgradeSse(server, 100)],
  ];
  const outcomes = await Promise.allSettled(attacks.map(([, work]) => work));
  const failed: string[] = [];
  outcomes.forEach((outcome, i) => {
    if (outcome.status === 'fulfilled') return;
    const name = attacks[i]![0];
    const line = `${name}: ${(outcome.reason as Error).message}`;
    if (runtime.pending?.[name]) pendingFailures.push(`${line}\n  (pending: ${runtime.pending[name]})`);
    else failed.push(line);
  });
  diagnostic(`${runtime.name}, slowest drops: ${Object.entries(attack.slowest).map(([name, ms]) => `${name} ${ms} ms`).join(', ')}`);
  assert.deepEqual(failed, [], 'attacks that failed');
}

async function memory(server: RunningServer, kind: 'heap' | 'rss'): Promise<number> {
  if (kind === 'heap') {
    const figures = await heap(server);
    assert.ok(figures.gc, 'the heap is measured after a full collection');
    return figures.heapUsed + figures.arrayBuffers;
  }
  const status = readFileSync(`/proc/${server.child.pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)![1]) * 1024;
}

/** Every live counter at 0. */
async function allGone(server: RunningServer): Promise<void> {
  await waitForStats(
    server,
    (s) => s.connections + s.subscribers + s.publishers + s.peers + s.pushers + s.pullers + s.topics + s.queued === 0,
    20_000,
  );
}

/** A new WebSocket and a new SSE subscriber both get a message published now. */
async function servesNewSubscribers(server: RunningServer): Promise<void> {
  const ws = await open(`${server.wsUrl}/sub/after/attack`);
  const sse = new SseClient(`${server.httpUrl}/sub/after/attack`);
  await sse.open();
  await waitForStats(server, (s) => s.subscribers === 2);
  assert.equal((await fetch(`${server.httpUrl}/pub/after/attack`, { method: 'POST', body: 'still here' })).status, 200);
  assert.equal((await ws.waitFor(1, 10_000))[0]!.data, 'still here');
  assert.equal((await sse.waitForEvents(1, 10_000))[0]!.data, 'still here');
  await ws.close();
  sse.close();
}

describe('hostile load: the attacks of issue 15 together, on every runtime', () => {
  for (const runtime of RUNTIMES) {
    const pendingFailures: string[] = [];
    it(`${runtime.name}: two rounds; then a new subscriber is served, counters are 0, memory is back, no stack trace`, { timeout: 180_000 }, async (t) => {
      const server = await runtime.launch(OPTIONS);
      try {
        const start = await memory(server, runtime.memory);
        await round(server, runtime, pendingFailures, (line) => t.diagnostic(line));
        await allGone(server);
        const afterFirst = await memory(server, runtime.memory);
        await round(server, runtime, pendingFailures, (line) => t.diagnostic(line));
        await allGone(server);
        await servesNewSubscribers(server);
        await allGone(server);
        const end = await memory(server, runtime.memory);
        const mib = (bytes: number) => `${(bytes / MiB).toFixed(1)} MiB`;
        const figures = `${runtime.memory}: start ${mib(start)}, after round 1 ${mib(afterFirst)}, after round 2 ${mib(end)}`;
        t.diagnostic(figures);
        const back = runtime.memory === 'heap' ? end - start < HEAP_SLACK : end - afterFirst < RSS_SLACK;
        if (!back && runtime.pending?.memory) pendingFailures.push(`memory: ${figures}\n  (pending: ${runtime.pending.memory})`);
        else assert.ok(back, figures);
        assertAlive(server);
        assertNoStackTrace(server);
      } finally {
        await server.stop();
      }
    });
    if (runtime.pending) {
      const names = Object.keys(runtime.pending).join(', ');
      it(`${runtime.name}: the attacks pending on another branch (${names}) pass too`, { todo: `issue 15 findings fixed on another branch: ${names}` }, () => {
        assert.deepEqual(pendingFailures, []);
      });
    }
  }
});
