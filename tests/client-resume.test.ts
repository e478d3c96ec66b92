/**
 * Nothing lost across reconnects (README "Ids, history and resume"): the client library
 * (src/client/) subscribes through a TCP proxy that cuts its connection every few hundred
 * milliseconds while 10,000 messages are published straight to the broker. With history large
 * enough the subscriber gets every message exactly once and in order, on Node, Deno and Bun
 * brokers and in a two-node cluster where every reconnect lands on the other node. With history
 * too small it is told of each gap first, and what arrived plus what the gaps report is exactly
 * what was published.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { createClient, type Gap } from '../src/client/index.ts';
import { nodeCli, type Launcher, type RunningServer } from './helpers/server.ts';
import { bunCli, denoCli } from './helpers/runtimes.ts';
import { twoNodeCluster, type ClusterServer } from './helpers/cluster.ts';
import { cuttingProxy, upstreamOf, type CuttingProxy } from './helpers/cutting-proxy.ts';
import { open } from './helpers/ws-client.ts';
import { waitUntil } from './helpers/checks.ts';

const MESSAGES = 10_000;
/** Published in batches of this many every BATCH_PAUSE_MS: about 3 seconds for all of them. */
const BATCH = 50;
const BATCH_PAUSE_MS = 15;
const CUT_EVERY_MS: [number, number] = [200, 400];

const cleanups: Array<() => Promise<unknown>> = [];
after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {});
});

async function start(launch: Launcher, args: string[]): Promise<RunningServer> {
  const server = await launch(args);
  cleanups.push(() => server.stop('SIGKILL'));
  return server;
}

interface Run {
  /** The numbers received, in arrival order. */
  received: number[];
  gaps: Gap[];
  /** Connections the subscription opened. */
  opened: number;
  proxy: CuttingProxy;
}

/**
 * Subscribes to `load` through a cutting proxy (to each of `upstreams` in turn), publishes
 * MESSAGES numbered messages to `load/n` on `publishTo` (straight, no proxy), and waits until
 * the last one has arrived.
 */
async function subscribeThroughCuts(upstreams: string[], publishTo: string, reconnectMs: [number, number]): Promise<Run> {
  let next = 0;
  const proxy = await cuttingProxy(() => upstreamOf(upstreams[next++ % upstreams.length]!), CUT_EVERY_MS);
  cleanups.push(() => proxy.stop());
  const prefix = new URL(upstreams[0]!).pathname.replace(/\/$/, '');
  const client = createClient(`http://127.0.0.1:${proxy.port}${prefix}`, {
    WebSocket,
    reconnect: { initialDelayMs: reconnectMs[0], maxDelayMs: reconnectMs[1] },
  });
  cleanups.push(async () => client.close());
  const run: Run = { received: [], gaps: [], opened: 0, proxy };
  client.subscribe('load', (data) => void run.received.push(Number(data)), {
    onGap: (gap) => void run.gaps.push(gap),
    onStatus: (status) => void (status === 'open' && run.opened++),
  });
  await waitUntil('the subscription to open', () => run.opened > 0, 20_000);

  const publisher = await open(`${publishTo.replace(/^http/, 'ws')}/pub/load/n`);
  cleanups.push(() => publisher.close());
  for (let n = 0; n < MESSAGES; n += BATCH) {
    for (let i = n; i < Math.min(n + BATCH, MESSAGES); i++) publisher.socket.send(String(i));
    await new Promise((resolve) => setTimeout(resolve, BATCH_PAUSE_MS));
  }
  await publisher.ping();
  await waitUntil(`message ${MESSAGES - 1} to arrive`, () => run.received.at(-1) === MESSAGES - 1, 60_000);
  proxy.calm();
  const missed = run.gaps.reduce((sum, gap) => sum + (gap.missed ?? 0), 0);
  // Evidence for the README: how hard the run was.
  console.log(`${proxy.cuts} cuts, ${run.opened} connections, ${run.received.length} received, ${run.gaps.length} gaps (${missed} missed)`);
  return run;
}

function assertEveryMessageOnceInOrder(run: Run): void {
  assert.deepEqual(run.gaps, [], 'no gap while history covers every cut');
  const firstWrong = run.received.findIndex((n, i) => n !== i);
  assert.equal(firstWrong, -1, `message ${firstWrong} is ${run.received[firstWrong]} (around it: ${run.received.slice(Math.max(0, firstWrong - 3), firstWrong + 3)})`);
  assert.equal(run.received.length, MESSAGES);
  // The proxy really cut the subscription again and again while messages flowed.
  assert.ok(run.proxy.cuts >= 5, `cuts: ${run.proxy.cuts}`);
  assert.ok(run.opened >= 5, `connections opened: ${run.opened}`);
}

const RUNTIMES: Array<[string, Launcher]> = [
  ['Node', nodeCli],
  ['Deno', denoCli],
  ['Bun', bunCli],
];

describe('resume through a connection cut every few hundred ms, history large enough', () => {
  for (const [name, launch] of RUNTIMES) {
    it(`${name} broker: all 10,000 messages exactly once, in order`, async () => {
      const server = await start(launch, ['-m', 'production', '--history-size', String(MESSAGES)]);
      const run = await subscribeThroughCuts([server.httpUrl], server.httpUrl, [20, 200]);
      assertEveryMessageOnceInOrder(run);
    });
  }

  // A subscription cut before its first message resumes from its start position (the position
  // frame), so nothing published meanwhile is lost (issue 13).
  it('two-node cluster, each reconnect on the other node: all 10,000 exactly once, in order', async () => {
    const cluster = (await start(twoNodeCluster, ['-m', 'production', '--history-size', String(MESSAGES)])) as ClusterServer;
    const run = await subscribeThroughCuts([cluster.httpUrl, cluster.sending.httpUrl], cluster.sending.httpUrl, [20, 200]);
    assertEveryMessageOnceInOrder(run);
    assert.ok(run.proxy.connections >= 6, 'connections went to both nodes in turn');
  });
});

describe('resume with history too small', () => {
  /** Gaps reported first, in order, and received + missed = published. */
  function assertGapsAddUp(run: Run): void {
    assert.ok(run.gaps.length >= 1, `gaps: ${run.gaps.length} in ${run.opened} connections`);
    for (const gap of run.gaps) {
      assert.equal(gap.reason, 'trimmed', JSON.stringify(gap));
      assert.ok(gap.missed! > 0, JSON.stringify(gap));
    }
    for (let i = 1; i < run.received.length; i++) assert.ok(run.received[i]! > run.received[i - 1]!, `in order, once: ${run.received[i - 1]} then ${run.received[i]}`);
    const missed = run.gaps.reduce((sum, gap) => sum + gap.missed!, 0);
    assert.equal(run.received.length + missed, MESSAGES, `${run.received.length} received + ${missed} reported missed`);
  }

  it('Node broker, 100 messages of history: each gap is reported, and the counts add up', async () => {
    const server = await start(nodeCli, ['-m', 'production', '--history-size', '100']);
    // Slow reconnects: each time the subscriber is away, more than 100 messages go by.
    const run = await subscribeThroughCuts([server.httpUrl], server.httpUrl, [300, 300]);
    assertGapsAddUp(run);
  });

  it('two-node cluster, history in Redis (MAXLEN ~ keeps about 100): the counts add up too', async () => {
    const cluster = (await start(twoNodeCluster, ['-m', 'production', '--history-size', '100'])) as ClusterServer;
    const run = await subscribeThroughCuts([cluster.httpUrl, cluster.sending.httpUrl], cluster.sending.httpUrl, [300, 300]);
    assertGapsAddUp(run);
  });
});
