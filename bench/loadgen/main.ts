/**
 * The load generator, run as its own process (forked by `bench/run.ts`, or by hand with a JSON
 * plan as its only argument). It connects subscribers and publishers on raw sockets, publishes
 * either as fast as a window of in-flight messages allows (closed loop: the servers' peak rate
 * without piling up backlog) or at a fixed rate (open loop: latency), and reports what arrived.
 *
 * Publish→receive latency is measured on a few probe subscribers: every message carries the
 * publisher's clock in its first 8 bytes (same process, so the clocks agree).
 */
import { performance } from 'node:perf_hooks';
import { RawWebSocket, clientFrame, clientHeaderLength, received, type ReadWatcher } from './raw-socket.ts';

export interface LoadPlan {
  host: string;
  port: number;
  subscribers: number;
  /** Path of subscriber `i`; `{i}` is replaced by the subscriber's index. */
  subscribePath: string;
  publishers: number;
  /** Path of publisher `j`; `{sub}` is replaced by the index of the subscriber it targets. */
  publishPath: string;
  /** Subscribers each message reaches (all of them for a shared parent topic, 1 for distinct topics). */
  fanout: number;
  payload: number;
  warmupSeconds: number;
  durationSeconds: number;
  /** Messages per second summed over publishers; 0 publishes as fast as `window` allows. */
  rate: number;
  /** Closed loop: messages each publisher has published but not yet seen received everywhere, at most. */
  window: number;
  /** Subscribers that read timestamps for latency. */
  probes: number;
  /** Client source addresses used, 127.0.0.2 onwards (many connections from one are slow). */
  localAddresses: number;
  connectConcurrency: number;
  /** Idle mode: connect, report, and hold the connections until told to let go. */
  hold?: boolean;
  /** Extra headers on every upgrade request, subscribers and publishers alike (auth: `authorization`). */
  headers?: Record<string, string>;
}

export interface LoadResult {
  connectMs: number;
  seconds: number;
  published: number;
  delivered: number;
  deliveredPerSecond: number;
  publishedPerSecond: number;
  latencyMs: { p50: number; p99: number; max: number; samples: number };
  /** Close codes the server sent to subscribers during the run (e.g. 1013 slow consumer). */
  closes: Record<string, number>;
  /** CPU time of this process per second of the measurement (1 = one core busy). */
  loadgenCpu: number;
}

const SAMPLE_CAPACITY = 200_000;

export interface LoadHooks {
  /** Idle mode: all connected; the connections are held until the promise settles. */
  onConnected?(connectMs: number): Promise<void>;
  /** The measured window starts or ends (the orchestrator samples the server's CPU here). */
  onWindow?(edge: 'start' | 'end'): void;
}

export async function runLoad(plan: LoadPlan, hooks: LoadHooks = {}): Promise<LoadResult> {
  const closes: Record<string, number> = {};
  const latency = new Float64Array(SAMPLE_CAPACITY);
  let samples = 0;
  let seen = 0;
  let recording = false;
  const onMessage = (stamp: number) => {
    if (!recording) return;
    const value = performance.now() - stamp;
    seen++;
    if (samples < SAMPLE_CAPACITY) latency[samples++] = value;
    else {
      const slot = Math.floor(Math.random() * seen);
      if (slot < SAMPLE_CAPACITY) latency[slot] = value;
    }
  };
  const onClose = (code: number) => {
    closes[code] = (closes[code] ?? 0) + 1;
  };

  const probeEvery = plan.probes > 0 ? Math.max(1, Math.floor(plan.subscribers / plan.probes)) : Infinity;
  const target = (path: string, index: number) => ({
    host: plan.host,
    port: plan.port,
    path,
    localAddress: plan.localAddresses > 0 ? `127.0.0.${2 + (index % plan.localAddresses)}` : undefined,
    headers: plan.headers,
  });

  const started = performance.now();
  const subscribers = await connectAll(plan.subscribers, plan.connectConcurrency, (i) =>
    new RawWebSocket(target(plan.subscribePath.replaceAll('{i}', String(i)), i), i % probeEvery === 0, { onMessage, onClose }),
  );
  const step = Math.max(1, Math.floor(plan.subscribers / Math.max(1, plan.publishers)));
  const publishers = await connectAll(plan.publishers, plan.connectConcurrency, (j) =>
    new RawWebSocket(target(plan.publishPath.replaceAll('{sub}', String(j * step)), plan.subscribers + j), false),
  );
  const connectMs = performance.now() - started;

  if (plan.hold) {
    await hooks.onConnected?.(connectMs);
    for (const socket of [...subscribers, ...publishers]) socket.destroy();
    return emptyResult(connectMs, closes);
  }

  // Each publisher's own subscribers: all of them on a shared topic, one each on distinct topics.
  const targetsOf = (j: number) => (plan.fanout === 1 ? [subscribers[j * step]!] : subscribers);
  const sender = new Sender(publishers.map((socket, j) => new Publisher(socket, targetsOf(j), plan)), plan);
  const targets = plan.fanout === 1 ? publishers.map((_, j) => subscribers[j * step]!) : subscribers;
  await sender.until(() => targets.every((s) => s.messages > 0), 15_000, 'every subscriber to receive a first message');
  await sender.start();

  await sender.run(plan.warmupSeconds);
  recording = true;
  for (const key of Object.keys(closes)) delete closes[key];
  hooks.onWindow?.('start');
  const cpuBefore = process.cpuUsage();
  const before = { delivered: received.messages, published: sender.published, at: performance.now() };
  await sender.run(plan.durationSeconds);
  const after = { delivered: received.messages, published: sender.published, at: performance.now() };
  const cpu = process.cpuUsage(cpuBefore);
  hooks.onWindow?.('end');
  recording = false;
  sender.stop();
  for (const socket of [...subscribers, ...publishers]) socket.destroy();

  const seconds = (after.at - before.at) / 1000;
  const sorted = latency.slice(0, samples).sort();
  const at = (q: number) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]! : Number.NaN);
  return {
    connectMs,
    seconds,
    published: after.published - before.published,
    delivered: after.delivered - before.delivered,
    deliveredPerSecond: (after.delivered - before.delivered) / seconds,
    publishedPerSecond: (after.published - before.published) / seconds,
    latencyMs: { p50: at(0.5), p99: at(0.99), max: sorted.length ? sorted[sorted.length - 1]! : Number.NaN, samples: sorted.length },
    closes,
    loadgenCpu: (cpu.user + cpu.system) / 1e6 / seconds,
  };
}

function emptyResult(connectMs: number, closes: Record<string, number>): LoadResult {
  return {
    connectMs,
    seconds: 0,
    published: 0,
    delivered: 0,
    deliveredPerSecond: 0,
    publishedPerSecond: 0,
    latencyMs: { p50: Number.NaN, p99: Number.NaN, max: Number.NaN, samples: 0 },
    closes,
    loadgenCpu: 0,
  };
}

async function connectAll(count: number, concurrency: number, make: (index: number) => RawWebSocket): Promise<RawWebSocket[]> {
  const sockets: RawWebSocket[] = new Array(count);
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const index = next++;
      const socket = make(index);
      sockets[index] = socket;
      await socket.upgraded;
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
  return sockets;
}

/**
 * One publisher socket and the subscribers it feeds. Closed loop: it keeps at most `window`
 * messages in flight (published, not yet received by all its subscribers) and tops up from the
 * reads of its own subscribers, in batches of at least a quarter window, so it writes big chunks
 * as a busy real publisher would.
 */
class Publisher implements ReadWatcher {
  published = 0;
  /** Messages that never will arrive everywhere (sent before every subscriber was registered). */
  lost = 0;
  running = false;
  readonly #frame: Buffer;
  readonly #payloadAt: number;
  readonly #minBatch: number;

  constructor(
    readonly socket: RawWebSocket,
    readonly targets: RawWebSocket[],
    private readonly plan: LoadPlan,
  ) {
    const payloadLength = Math.max(8, plan.payload);
    this.#frame = clientFrame(0x2, Buffer.alloc(payloadLength, 0x61));
    this.#payloadAt = clientHeaderLength(payloadLength);
    this.#minBatch = Math.max(1, plan.window >> 2);
    if (plan.rate === 0) for (const target of targets) target.watcher = this;
  }

  /** Messages all targets have received, in publishes (the fan-out divided out). */
  received(): number {
    if (this.targets.length === 1) return this.targets[0]!.messages;
    return received.messages / this.plan.fanout;
  }

  afterRead(): void {
    if (!this.running) return;
    const room = Math.floor(this.plan.window - (this.published - this.lost - this.received()));
    if (room >= this.#minBatch) this.send(room);
  }

  /** Sends `count` frames in one write, each stamped with the publisher's clock. */
  send(count: number): void {
    const frameLength = this.#frame.length;
    const batch = Buffer.allocUnsafe(count * frameLength);
    const stamp = performance.now();
    for (let m = 0; m < count; m++) {
      const at = m * frameLength;
      this.#frame.copy(batch, at);
      batch.writeDoubleLE(stamp, at + this.#payloadAt);
    }
    this.socket.write(batch);
    this.published += count;
  }
}

/** Drives the publishers: readiness, then closed loop or a fixed rate (a 1 ms tick sends what is due). */
class Sender {
  #tick: ReturnType<typeof setInterval> | undefined;
  #rateStart = 0;
  #rateSent = 0;
  #next = 0;

  constructor(
    private readonly publishers: Publisher[],
    private readonly plan: LoadPlan,
  ) {}

  get published(): number {
    let total = 0;
    for (const publisher of this.publishers) total += publisher.published;
    return total;
  }

  /** Publishes one message per publisher every 20 ms until `done()` holds. */
  until(done: () => boolean, timeoutMs: number, what: string): Promise<void> {
    const deadline = performance.now() + timeoutMs;
    return new Promise((resolve, reject) => {
      const check = () => {
        if (done()) return resolve();
        if (performance.now() > deadline) return reject(new Error(`timed out waiting for ${what}`));
        for (const publisher of this.publishers) publisher.send(1);
        setTimeout(check, 20);
      };
      check();
    });
  }

  /** Lets the readiness messages drain, then starts the real publishing. */
  async start(): Promise<void> {
    await new Promise((resolve) => setTimeout(resolve, 300));
    for (const publisher of this.publishers) publisher.lost = publisher.published - publisher.received();
    if (this.plan.rate > 0) {
      this.#rateStart = performance.now();
      this.#tick = setInterval(() => this.#sendDue(), 1);
    } else {
      for (const publisher of this.publishers) {
        publisher.running = true;
        publisher.afterRead();
      }
    }
  }

  run(seconds: number): Promise<void> {
    return new Promise((resolve) => setTimeout(resolve, seconds * 1000));
  }

  stop(): void {
    clearInterval(this.#tick);
    for (const publisher of this.publishers) publisher.running = false;
  }

  #sendDue(): void {
    let due = Math.floor(((performance.now() - this.#rateStart) / 1000) * this.plan.rate) - this.#rateSent;
    this.#rateSent += Math.max(0, due);
    // Round robin over the publishers, one message each in turn.
    while (due > 0) {
      const count = Math.max(1, Math.floor(due / this.publishers.length));
      this.publishers[this.#next]!.send(count);
      this.#next = (this.#next + 1) % this.publishers.length;
      due -= count;
    }
  }
}

// Forked by bench/run.ts: the plan comes over IPC, the result goes back the same way.
if (process.send) {
  process.once('message', async (message: { plan: LoadPlan }) => {
    try {
      const result = await runLoad(message.plan, {
        async onConnected(connectMs) {
          process.send!({ connected: connectMs });
          await new Promise<void>((resolve) => process.once('message', () => resolve()));
        },
        onWindow: (edge) => process.send!({ window: edge }),
      });
      process.send!({ result }, () => process.exit(0));
    } catch (error) {
      process.send!({ error: error instanceof Error ? error.message : String(error) }, () => process.exit(1));
    }
  });
}

// By hand: node --import tsx bench/loadgen/main.ts '{"host":"127.0.0.1","port":3000,...}' (a whole LoadPlan).
if (!process.send && process.argv[2]?.startsWith('{')) {
  // In hold mode the connections stay open for `holdSeconds` (default 10).
  const plan = JSON.parse(process.argv[2]) as LoadPlan & { holdSeconds?: number };
  const result = await runLoad(plan, {
    async onConnected(ms) {
      console.error(`connected in ${ms.toFixed(0)} ms`);
      await new Promise((resolve) => setTimeout(resolve, (plan.holdSeconds ?? 10) * 1000));
    },
  });
  console.log(JSON.stringify(result, null, 2));
}
