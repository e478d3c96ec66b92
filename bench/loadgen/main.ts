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
import { RawWebSocket, clientFrame, clientHeaderLength, received } from './raw-socket.ts';

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
  /** Closed loop: messages published but not yet received everywhere, at most. */
  window: number;
  /** Subscribers that read timestamps for latency. */
  probes: number;
  /** Client source addresses used, 127.0.0.2 onwards (many connections from one are slow). */
  localAddresses: number;
  connectConcurrency: number;
  /** Idle mode: connect, report, and hold the connections until told to let go. */
  hold?: boolean;
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

  const sender = new Sender(publishers, plan);
  // Until every targeted subscriber has heard something, the server may still be registering them.
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
 * Publishes: closed loop (keep at most `window` messages in flight, topping up whenever a read
 * frees room) or open loop (a 1 ms tick sends whatever the rate says is due).
 */
class Sender {
  published = 0;
  #frameLength: number;
  #template: Buffer;
  #next = 0;
  #stopped = false;
  #tick: ReturnType<typeof setInterval> | undefined;
  #rateStart = 0;
  #rateSent = 0;
  /** Messages that never will arrive everywhere (sent before every subscriber was registered). */
  #lost = 0;

  constructor(
    private readonly publishers: RawWebSocket[],
    private readonly plan: LoadPlan,
  ) {
    const payload = Buffer.alloc(Math.max(8, plan.payload), 0x61);
    this.#template = clientFrame(0x2, payload);
    this.#frameLength = this.#template.length;
  }

  /** Publishes one message per publisher every 20 ms until `done()` holds. */
  until(done: () => boolean, timeoutMs: number, what: string): Promise<void> {
    const deadline = performance.now() + timeoutMs;
    return new Promise((resolve, reject) => {
      const check = () => {
        if (done()) return resolve();
        if (performance.now() > deadline) return reject(new Error(`timed out waiting for ${what}`));
        this.#send(this.publishers.length);
        setTimeout(check, 20);
      };
      check();
    });
  }

  /** Lets the readiness messages drain, then starts the real publishing. */
  async start(): Promise<void> {
    await new Promise((resolve) => setTimeout(resolve, 300));
    this.#lost = this.published - received.messages / this.plan.fanout;
    if (this.plan.rate > 0) {
      this.#rateStart = performance.now();
      this.#tick = setInterval(() => this.#sendDue(), 1);
    } else {
      received.afterRead = () => this.#topUp();
      this.#topUp();
    }
  }

  run(seconds: number): Promise<void> {
    return new Promise((resolve) => setTimeout(resolve, seconds * 1000));
  }

  stop(): void {
    this.#stopped = true;
    clearInterval(this.#tick);
    received.afterRead = undefined;
  }

  #topUp(): void {
    if (this.#stopped) return;
    const inFlight = this.published - this.#lost - received.messages / this.plan.fanout;
    const room = Math.floor(this.plan.window - inFlight);
    // Send in batches of at least a quarter window, so the publisher writes big chunks.
    if (room >= Math.max(1, this.plan.window >> 2)) this.#send(room);
  }

  #sendDue(): void {
    const due = Math.floor(((performance.now() - this.#rateStart) / 1000) * this.plan.rate) - this.#rateSent;
    if (due > 0) {
      this.#rateSent += due;
      this.#send(due);
    }
  }

  /** Sends `count` messages, spread round robin over the publishers, one write per publisher. */
  #send(count: number): void {
    const publishers = this.publishers;
    const perPublisher = Math.ceil(count / publishers.length);
    let left = count;
    const stamp = performance.now();
    const payloadAt = clientHeaderLength(Math.max(8, this.plan.payload));
    for (let k = 0; k < publishers.length && left > 0; k++) {
      const publisher = publishers[this.#next]!;
      this.#next = (this.#next + 1) % publishers.length;
      const n = Math.min(perPublisher, left);
      left -= n;
      const batch = Buffer.allocUnsafe(n * this.#frameLength);
      for (let m = 0; m < n; m++) {
        const at = m * this.#frameLength;
        this.#template.copy(batch, at);
        batch.writeDoubleLE(stamp, at + payloadAt);
      }
      publisher.write(batch);
    }
    this.published += count;
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
