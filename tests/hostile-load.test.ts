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
 * Memory: every runtime answers `GET /debug/heap` (`BROKER_DEBUG_HEAP=1`; Node with
 * `--expose-gc`, Deno with `--v8-flags=--expose-gc`) with the heap after a full collection,
 * compared with the heap before the first round. (Resident memory cannot judge it: Deno's grew
 * about 200 MiB a round and stayed, its allocator keeping what the attacks made it reserve.)
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { CLI, spawnBroker, waitForStats, type Launcher, type RunningServer } from './helpers/server.ts';
import { BUN, DENO } from './helpers/runtimes.ts';
import { MiB, assertAlive, assertNoStackTrace, heap } from './helpers/checks.ts';
import { open } from './helpers/ws-client.ts';
import { SseClient } from './helpers/sse-client.ts';
import { BAD_REQUESTS, NODE_ONLY_BAD_REQUESTS } from './helpers/bad-requests.ts';
import * as attack from './helpers/attacks.ts';

const OPTIONS = ['-m', 'production', '--headers-timeout', '2', '--body-timeout', '5', '--max-posts-in-flight', '64'];
const DEBUG_HEAP = { BROKER_DEBUG_HEAP: '1' };
/** What deno.json's permission set (`-P`) lets the CLI read, and the heap route's variable. */
const DENO_ENV = 'BROKER_LISTEN,BROKER_MODE,BROKER_JWT_SECRET,BROKER_DEBUG_HEAP';
/** Heap after GC may end this much above where it started. */
const HEAP_SLACK = 4 * MiB;

interface Runtime {
  name: string;
  launch: Launcher;
  badRequests: readonly string[];
  /** Bun drops an unfinished head after 10–12 s on its own, whatever `headersTimeout` says. */
  headBoundMs: number;
}

const RUNTIMES: Runtime[] = [
  {
    name: 'node CLI',
    launch: (args = []) => spawnBroker(process.execPath, ['--expose-gc', CLI, '-l', 'http://127.0.0.1:0', ...args], { env: DEBUG_HEAP }),
    badRequests: [...BAD_REQUESTS, ...NODE_ONLY_BAD_REQUESTS],
    headBoundMs: 6000,
  },
  {
    name: 'bun CLI',
    launch: (args = []) => spawnBroker(BUN, ['run', 'mod.ts', '-l', 'http://127.0.0.1:0', ...args], { env: DEBUG_HEAP, timeoutMs: 60_000 }),
    badRequests: BAD_REQUESTS,
    headBoundMs: 16_000,
  },
  {
    name: 'deno CLI',
    // deno.json's permission set (`-P`) and the one variable more that turns the heap route on,
    // with a collector to call: as `deno task start` runs it, plus `/debug/heap`.
    launch: (args = []) =>
      spawnBroker(DENO, ['run', '-q', '--v8-flags=--expose-gc', '--allow-net', '--allow-read', `--allow-env=${DENO_ENV}`, 'mod.ts', '-l', 'http://127.0.0.1:0', ...args], { env: DEBUG_HEAP, timeoutMs: 60_000 }),
    // Deno's HTTP layer answers a CONNECT to a path with a bare 400 of its own (as Bun does
    // `OPTIONS *`): JavaScript never sees it.
    badRequests: BAD_REQUESTS.filter((request) => !request.startsWith('CONNECT /')),
    headBoundMs: 6000,
  },
];

/**
 * One round: every attack at once. Fails naming every attack that failed, and why.
 */
async function round(server: RunningServer, runtime: Runtime, diagnostic: (line: string) => void): Promise<void> {
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
    failed.push(`${name}: ${(outcome.reason as Error).message}`);
  });
  diagnostic(`${runtime.name}, slowest drops: ${Object.entries(attack.slowest).map(([name, ms]) => `${name} ${ms} ms`).join(', ')}`);
  assert.deepEqual(failed, [], 'attacks that failed');
}

/** The heap after a full collection: what the broker still holds. */
async function heapHeld(server: RunningServer): Promise<number> {
  const figures = await heap(server);
  assert.ok(figures.gc, 'the heap is measured after a full collection');
  return figures.heapUsed + figures.arrayBuffers;
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
    it(`${runtime.name}: two rounds; then a new subscriber is served, counters are 0, the heap is back, no stack trace`, { timeout: 180_000 }, async (t) => {
      const server = await runtime.launch(OPTIONS);
      try {
        const start = await heapHeld(server);
        await round(server, runtime, (line) => t.diagnostic(line));
        await allGone(server);
        const afterFirst = await heapHeld(server);
        await round(server, runtime, (line) => t.diagnostic(line));
        await allGone(server);
        await servesNewSubscribers(server);
        await allGone(server);
        const end = await heapHeld(server);
        const mib = (bytes: number) => `${(bytes / MiB).toFixed(1)} MiB`;
        const figures = `heap: start ${mib(start)}, after round 1 ${mib(afterFirst)}, after round 2 ${mib(end)}`;
        t.diagnostic(figures);
        assert.ok(end - start < HEAP_SLACK, figures);
        assertAlive(server);
        assertNoStackTrace(server);
      } finally {
        await server.stop();
      }
    });
  }
});
