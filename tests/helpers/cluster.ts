/**
 * Brokers in cluster mode for black-box tests: Node CLI nodes started with `--redis` on a real
 * `redis-server` (helpers/redis.ts), and what tests ask of a node (its health, its id).
 *
 * `twoNodeCluster` is a `Launcher` for the black-box suite. Its receivers (subscribers, pullers,
 * bus peers) and its plain GETs go to node A; its senders (publishers, pushers) and every POST go
 * to node B. So each message the suite checks crosses Redis, and nothing in the suite changes
 * but where it connects: one broker is the special case where both nodes are the same process.
 */
import assert from 'node:assert/strict';
import type { BrokerStats } from '../../mod.ts';
import { nodeCli, stats, type Launcher, type RunningServer } from './server.ts';
import { startRedis, type RedisClient } from './redis.ts';
import { waitUntil } from './checks.ts';

/** Key and channel prefix of database 0 (src/engine/redis-keys.ts). */
export const PREFIX = 'bh:0:';

export async function health(node: { httpUrl: string }): Promise<{ status: number; body: string }> {
  const response = await fetch(`${node.httpUrl}/healthz`);
  return { status: response.status, body: await response.text() };
}

/** Waits until `/healthz` is 200: connected to Redis and every wanted channel subscribed. */
export async function waitHealthy(node: RunningServer, timeoutMs = 15_000): Promise<void> {
  await waitUntil(`${node.httpUrl} healthy`, async () => (await health(node)).status === 200, timeoutMs);
}

/** The 16 hex digits a node logs as its id ("as node …"). */
export function nodeIdOf(node: RunningServer): string {
  const match = /as node ([0-9a-f]{16})/.exec(node.output());
  assert.ok(match, `node id in output:\n${node.output()}`);
  return match[1]!;
}

/** Where a client connects or sends. */
export interface Endpoint {
  readonly httpUrl: string;
  readonly wsUrl: string;
}

/** A broker of two processes: `httpUrl`/`wsUrl` are node A (receivers), `sending` node B. */
export interface ClusterServer extends RunningServer {
  /** Node B: where publishers and pushers connect and POSTs go. */
  readonly sending: Endpoint;
  /** The live state of the whole cluster, as one broker's `/stats` would give it. */
  stats(): Promise<BrokerStats>;
}

export function isCluster(server: RunningServer): server is ClusterServer {
  return 'sending' in server;
}

/** Two Node CLI nodes with the same flags on a redis-server of their own (one per launch). */
export const twoNodeCluster: Launcher = async (args = []): Promise<ClusterServer> => {
  const redis = await startRedis();
  const started = await Promise.allSettled([nodeCli(['--redis', redis.url, ...args]), nodeCli(['--redis', redis.url, ...args])]);
  const nodes = started.flatMap((result) => (result.status === 'fulfilled' ? [result.value] : []));
  const [a, b] = nodes;
  if (!a || !b) {
    await Promise.all(nodes.map((node) => node.stop('SIGKILL')));
    await redis.stop();
    throw (started.find((result) => result.status === 'rejected') as PromiseRejectedResult).reason;
  }
  const inspect = await redis.client();
  await Promise.all([waitHealthy(a), waitHealthy(b)]);
  return {
    httpUrl: a.httpUrl,
    wsUrl: a.wsUrl,
    child: a.child,
    sending: { httpUrl: b.httpUrl, wsUrl: b.wsUrl },
    output: () => `--- node A\n${a.output()}\n--- node B\n${b.output()}`,
    stats: async () => clusterStats(await Promise.all([stats(a), stats(b)]), inspect),
    async stop(signal) {
      const [codeA, codeB] = await Promise.all([a.stop(signal), b.stop(signal)]);
      await redis.stop();
      return codeA !== 0 ? codeA : codeB;
    },
  };
};

/**
 * One broker's `/stats` for a cluster: the nodes' counters added up, with what lives in Redis in
 * place of what one broker keeps in memory. Messages waiting for a puller are in Redis queues
 * (`queued`, `heldBytes`), and such a queue is a live topic as a local one is. A puller counts once its node
 * has registered it in Redis (round robin includes it only then) and until it is withdrawn:
 * while the nodes' count and Redis's differ the value is NaN (null in JSON), which equals
 * nothing, so a test waiting for a number waits for the two to agree.
 */
async function clusterStats(nodes: BrokerStats[], redis: RedisClient): Promise<BrokerStats> {
  const sum = (name: keyof BrokerStats) => nodes.reduce((total, node) => total + node[name], 0);
  const queues = await lengths(redis, 'queue');
  const registered = await lengths(redis, 'pullers');
  const waiting = [...queues.values()].reduce((total, length) => total + length, 0);
  const queueTopics = [...queues].filter(([topic, length]) => length > 0 && (registered.get(topic) ?? 0) === 0).length;
  const pullers = sum('pullers');
  const registeredPullers = [...registered.values()].reduce((total, length) => total + length, 0);
  return {
    connections: sum('connections'),
    subscribers: sum('subscribers'),
    publishers: sum('publishers'),
    peers: sum('peers'),
    pushers: sum('pushers'),
    pullers: pullers === registeredPullers ? pullers : Number.NaN,
    // Receivers are all on node A, so no topic is counted on both nodes.
    topics: sum('topics') + queueTopics,
    queued: sum('queued') + waiting,
    messagesIn: sum('messagesIn'),
    messagesOut: sum('messagesOut'),
    slowConsumerDisconnects: sum('slowConsumerDisconnects'),
    uptimeSeconds: Math.min(...nodes.map((node) => node.uptimeSeconds)),
    refused: sum('refused'),
    forwardFailures: sum('forwardFailures'),
    // What the shared queues hold is counted in Redis, cluster-wide (keys.ts: `held`).
    heldBytes: sum('heldBytes') + Number((await redis.get(`${PREFIX}held`)) ?? 0),
    budgetRefusals: sum('budgetRefusals'),
    // Cluster history lives in Redis, not in the nodes.
    historyTopics: sum('historyTopics'),
    historyMessages: sum('historyMessages'),
    historyBytes: sum('historyBytes'),
  };
}

/** Length of every Redis list `PREFIX + kind + ':' + topic`, by topic. */
async function lengths(redis: RedisClient, kind: 'queue' | 'pullers'): Promise<Map<string, number>> {
  const keys = (await redis.keys(`${PREFIX}${kind}:*`)).map(String);
  const found = new Map<string, number>();
  for (const key of keys) found.set(key.slice(`${PREFIX}${kind}:`.length), await redis.lLen(key));
  return found;
}
