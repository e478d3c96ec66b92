/**
 * `npm run bench:cluster`: fan-out throughput across nodes (through Redis) against one node, in
 * the same run. Starts its own `redis-server`, a single broker (no Redis) and two cluster nodes
 * (the CLI with `--redis`), then, round after round in rotating order:
 *
 * - `single`: publisher and subscribers on the one broker without Redis (the baseline);
 * - `cluster, same node`: publisher and subscribers on node A (what cluster mode costs locally:
 *   every publish is also sent to Redis);
 * - `cluster, cross-node`: publisher on node A, every subscriber on node B;
 * - `cluster, split`: publisher on A, subscribers half on A and half on B.
 *
 * The publisher keeps at most `--window` messages ahead of the slowest subscriber, so the
 * numbers are sustained throughput, not buffering. Prints a markdown table of medians.
 *
 *   npm run bench:cluster
 *   npm run bench:cluster -- --rounds 3 --messages 5000 --subscribers 1,20 --payload 64 --window 1000
 *
 * Not a test: it asserts nothing about speed.
 */
import { cpus } from 'node:os';
import { parseArgs } from 'node:util';
import WebSocket from 'ws';
import { startRedis } from '../tests/helpers/redis.ts';
import { nodeCli, type RunningServer } from '../tests/helpers/server.ts';

const { values: flags } = parseArgs({
  options: {
    rounds: { type: 'string', default: '5' },
    messages: { type: 'string', default: '20000' },
    subscribers: { type: 'string', default: '1,50' },
    payload: { type: 'string', default: '64' },
    window: { type: 'string', default: '1000' },
  },
});
const settings = {
  rounds: Number(flags.rounds),
  messages: Number(flags.messages),
  /** One table per fan-out size: 1 shows the engine's own throughput, 50 a real fan-out. */
  subscriberCounts: flags.subscribers!.split(',').map(Number),
  payload: Number(flags.payload),
  window: Number(flags.window),
};

interface Scenario {
  name: string;
  publisher: () => RunningServer;
  /** The node of subscriber `index`. */
  subscriberNode: (index: number) => RunningServer;
  /** Skipped below this many subscribers (a split needs two). */
  minSubscribers?: number;
}

interface Sample {
  seconds: number;
  published: number;
  delivered: number;
}

function connect(url: string): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url, { perMessageDeflate: false });
    socket.once('open', () => resolve(socket));
    socket.once('error', reject);
  });
}

async function closeAll(sockets: WebSocket[]): Promise<void> {
  await Promise.all(
    sockets.map(
      (socket) =>
        new Promise<void>((resolve) => {
          if (socket.readyState === WebSocket.CLOSED) return resolve();
          socket.once('close', () => resolve());
          socket.close();
        }),
    ),
  );
}

async function runOnce(scenario: Scenario, round: number, subscriberCount: number): Promise<Sample> {
  const topic = `bench${round}x${subscriberCount}`;
  const counts = new Array<number>(subscriberCount).fill(0);
  const subscribers: WebSocket[] = [];
  let wake: (() => void) | undefined;
  for (let i = 0; i < subscriberCount; i++) {
    const socket = await connect(`${scenario.subscriberNode(i).wsUrl}/sub/${topic}`);
    socket.on('message', () => {
      counts[i]!++;
      wake?.();
    });
    subscribers.push(socket);
  }
  const publisher = await connect(`${scenario.publisher().wsUrl}/pub/${topic}/feed`);
  const payload = 'x'.repeat(settings.payload);
  const slowest = () => {
    let min = Infinity;
    for (const count of counts) if (count < min) min = count;
    return min;
  };
  const started = performance.now();
  let sent = 0;
  while (slowest() < settings.messages) {
    while (sent < settings.messages && sent - slowest() < settings.window) {
      publisher.send(payload);
      sent++;
    }
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, 5000);
      wake = () => {
        clearTimeout(timer);
        wake = undefined;
        resolve();
      };
    });
    if (performance.now() - started > 120_000) throw new Error(`${scenario.name}: stalled at ${slowest()} of ${settings.messages}`);
  }
  const seconds = (performance.now() - started) / 1000;
  await closeAll([publisher, ...subscribers]);
  return { seconds, published: settings.messages / seconds, delivered: (settings.messages * subscriberCount) / seconds };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

const format = (value: number) => Math.round(value).toLocaleString('en-US');

async function main(): Promise<void> {
  const redis = await startRedis();
  const single = await nodeCli(['-m', 'production']);
  const nodeA = await nodeCli(['-m', 'production', '--redis', redis.url]);
  const nodeB = await nodeCli(['-m', 'production', '--redis', redis.url]);
  const scenarios: Scenario[] = [
    { name: 'single node (no Redis)', publisher: () => single, subscriberNode: () => single },
    { name: 'cluster, same node', publisher: () => nodeA, subscriberNode: () => nodeA },
    { name: 'cluster, cross-node', publisher: () => nodeA, subscriberNode: () => nodeB },
    { name: 'cluster, split over A and B', publisher: () => nodeA, subscriberNode: (i) => (i % 2 ? nodeB : nodeA), minSubscribers: 2 },
  ];
  const key = (scenario: Scenario, subscribers: number) => `${scenario.name}/${subscribers}`;
  const samples = new Map<string, Sample[]>();
  try {
    for (let round = 0; round < settings.rounds; round++) {
      // Rotate the order so no scenario always runs on a warmer (or more tired) machine.
      const order = scenarios.map((_, i) => scenarios[(i + round) % scenarios.length]!);
      for (const subscribers of settings.subscriberCounts) {
        for (const scenario of order) {
          if (subscribers < (scenario.minSubscribers ?? 1)) continue;
          const sample = await runOnce(scenario, round, subscribers);
          const list = samples.get(key(scenario, subscribers)) ?? [];
          list.push(sample);
          samples.set(key(scenario, subscribers), list);
          process.stderr.write(`round ${round + 1}/${settings.rounds}, ${subscribers} subscribers, ${scenario.name}: ${format(sample.published)} msg/s\n`);
        }
      }
    }
  } finally {
    await Promise.all([single, nodeA, nodeB].map((node) => node.stop()));
    await redis.stop();
  }

  console.log(`\n### Cluster fan-out (medians of ${settings.rounds} rounds)\n`);
  console.log(
    `${settings.messages} messages of ${settings.payload} B from one WebSocket publisher to the WebSocket subscribers of its parent topic, ` +
      `at most ${settings.window} ahead of the slowest subscriber; Node ${process.version}, ${cpus().length} cores, redis-server on loopback, ` +
      `all processes (brokers, Redis, this client) on the same machine.\n`,
  );
  console.log('| subscribers | scenario | published msg/s | deliveries/s | vs single node |');
  console.log('|---:|---|---:|---:|---:|');
  for (const subscribers of settings.subscriberCounts) {
    const baseline = median(samples.get(key(scenarios[0]!, subscribers))!.map((s) => s.published));
    for (const scenario of scenarios) {
      const list = samples.get(key(scenario, subscribers));
      if (!list) continue;
      const published = median(list.map((s) => s.published));
      const delivered = median(list.map((s) => s.delivered));
      console.log(`| ${subscribers} | ${scenario.name} | ${format(published)} | ${format(delivered)} | ${(published / baseline).toFixed(2)}× |`);
    }
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
