/**
 * The Redis engine: broker processes on one Redis act as one broker (see `engine.ts` for the
 * delivery guarantee). Two connections per node:
 *
 * - **command**: PUBLISH of local publishes (one channel per ancestor topic, so a subscriber of
 *   `wong` anywhere hears `wong/amy`), the push/pull scripts, the heartbeat.
 * - **subscriber**: SUBSCRIBE only to the channels this node's own receivers need
 *   (`SubscriptionSync`), plus this node's channel for push messages routed to its pullers.
 *
 * Local delivery never waits for Redis: a message published here reaches local receivers
 * directly, and the copy Redis sends back is recognised by the node id in its envelope and
 * dropped. While Redis is unreachable the node keeps serving its own clients as a single broker,
 * counts what it could not forward (`forwardFailures`), answers `/healthz` with 503, and
 * reconnects and resubscribes on its own.
 *
 * The Redis client is reached through `RedisTransport` (web-standard types); the client itself
 * is in `src/adapters/redis/`.
 */
import type { BrokerCore, ClusterHooks } from '../core/broker-core.ts';
import type { PushResult } from '../core/push-pull.ts';
import type { BrokerMessage } from '../message.ts';
import type { Receiver } from '../receiver.ts';
import type { ClusterEngine, EngineInit } from './engine.ts';
import type { RedisRole, RedisTransport, RedisTransportFactory } from './redis-transport.ts';
import { decodeEnvelope, encodeEnvelope, randomNodeId, sentBy, topicBytes, type NodeId } from './envelope.ts';
import { CHANNEL_KIND, redactRedisUrl, redisDatabase, redisNames, type RedisNames } from './redis-keys.ts';
import { SCRIPTS, pushTopicKeys, type ScriptName } from './push-scripts.ts';
import { SubscriptionSync } from './subscription-sync.ts';

/** Heartbeat period, and how long a silent node counts as alive (its pullers are then dropped). */
const HEARTBEAT_MS = 1000;
const ALIVE_TTL_MS = 5000;
/** A heartbeat unanswered for this long means Redis hangs: the node reports itself unhealthy. */
const HEARTBEAT_TIMEOUT_MS = 3000;
/** Longest a new subscriber's upgrade waits for its Redis subscription. */
const PREPARE_TIMEOUT_MS = 2000;
/** Bytes handed to Redis and not yet acknowledged; past it forwards are dropped and counted. */
const MAX_IN_FLIGHT_BYTES = 64 * 1024 * 1024;
/** Waiting messages one script call moves to pullers. */
const DRAIN_BATCH = 256;
/** A forward batch is sent early once it holds this many bytes. */
const FORWARD_BATCH_BYTES = 1024 * 1024;

export class RedisEngine implements ClusterEngine {
  readonly node: NodeId = randomNodeId();
  readonly #core: BrokerCore;
  readonly #url: string;
  readonly #names: RedisNames;
  readonly #log: (line: string) => void;
  readonly #pushQueueLimit: string;
  readonly #redis: RedisTransport;
  readonly #sync: SubscriptionSync;
  readonly #shas = new Map<ScriptName, string>();

  /** Command connection ready and scripts loaded: forwards and pushes may go to Redis. */
  #commandUp = false;
  #commandConnected = false;
  #subscriberUp = false;
  #everHealthy = false;
  /** The last heartbeat got no answer in time (Redis hangs, or the link does). */
  #stalled = false;
  #heartbeatPending = false;
  #wasHealthy = false;
  #lastError: string | undefined;
  #connectWaiters: Array<() => void> = [];
  #commandEpoch = 0;
  #sequence = 0;
  #inFlightBytes = 0;
  #heartbeat: ReturnType<typeof setInterval> | undefined;
  #closing: Promise<void> | undefined;

  /** Last remote publish delivered (a node subscribed to two ancestors gets it twice in a row). */
  #lastHigh = -1;
  #lastLow = -1;
  #lastSequence = -1;

  // Local pullers, by id and by topic; ids are `NODE/N`.
  #pullerCounter = 0;
  readonly #pullerById = new Map<string, { topic: string; receiver: Receiver }>();
  readonly #pullersByTopic = new Map<string, Map<Receiver, string>>();
  /** Withdrawals that could not reach Redis yet. */
  readonly #pendingLeaves = new Map<string, Set<string>>();
  /** Push topics whose shared queue still holds messages this node's pullers could take. */
  readonly #needsDrain = new Set<string>();
  /** Per published topic: its UTF-8 bytes and its ancestors' channels (publishers repeat topics). */
  readonly #topicCache = new Map<string, { bytes: Uint8Array; subChannels: string[] }>();
  /** Forwards of this event-loop turn, as `publishBatch` arguments; sent in one command. */
  #batch: Array<string | Uint8Array> = [];
  #batchMessages = 0;
  #batchBytes = 0;
  #batchScheduled = false;

  readonly hooks: ClusterHooks;

  constructor(init: EngineInit, transport: RedisTransportFactory) {
    this.#core = init.core;
    this.#url = init.url;
    this.#log = init.log;
    this.#pushQueueLimit = String(init.pushQueueLimit);
    this.#names = redisNames(redisDatabase(init.url));
    this.#sync = new SubscriptionSync(
      {
        subscribe: (channels) => this.#redis.subscribe(channels),
        unsubscribe: (channels) => this.#redis.unsubscribe(channels),
      },
      () => this.#updateHealth(),
    );
    this.#sync.want(this.#names.nodeChannel(this.node.hex));

    this.hooks = {
      topicActive: (kind, topic) => this.#sync.want(this.#channel(kind, topic)),
      topicIdle: (kind, topic) => this.#sync.unwant(this.#channel(kind, topic)),
      prepare: (kind, topic) => (kind === 'pull' ? undefined : this.#prepare(this.#channel(kind, topic))),
      forwardPublish: (topic, message) => this.#forwardPublish(topic, message),
      forwardBus: (topic, message) => this.#forward(this.#names.busChannel(topic), topic, message),
      pullerAdded: (topic, puller) => this.#pullerAdded(topic, puller),
      pullerRemoved: (topic, puller) => this.#pullerRemoved(topic, puller),
      push: (topic, message) => this.#push(topic, message),
    };
    this.#core.cluster = this.hooks;

    this.#redis = transport({
      url: init.url,
      name: `broker-hono-${this.node.hex}`,
      events: {
        message: this.#onChannelMessage,
        ready: (role) => this.#ready(role),
        down: (role) => this.#down(role),
        error: (_role, message) => {
          this.#lastError = message;
        },
      },
    });
    this.#heartbeat = setInterval(() => this.#beat(), HEARTBEAT_MS);
    (this.#heartbeat as { unref?: () => void }).unref?.();
  }

  // --- ClusterEngine ------------------------------------------------------------------------

  problem(): string | undefined {
    if (this.#closing) return 'redis: closed';
    if (this.#healthy()) return undefined;
    const where = redactRedisUrl(this.#url);
    if (!this.#commandUp || !this.#subscriberUp || this.#stalled) return `redis: ${this.#lastError ?? 'connecting'} (${where})`;
    return `redis: resubscribing (${where})`;
  }

  connected(timeoutMs: number): Promise<boolean> {
    if (this.#healthy()) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(false), timeoutMs);
      this.#connectWaiters.push(() => {
        clearTimeout(timer);
        resolve(true);
      });
    });
  }

  close(): Promise<void> {
    this.#closing ??= this.#shutdown();
    return this.#closing;
  }

  // --- connection state ---------------------------------------------------------------------

  #healthy(): boolean {
    return this.#commandUp && this.#subscriberUp && this.#sync.settled && !this.#stalled;
  }

  #down(role: RedisRole): void {
    if (role === 'command') {
      this.#commandConnected = false;
      this.#commandUp = false;
      this.#stalled = false;
      this.#heartbeatPending = false;
      this.#commandEpoch++;
    } else if (this.#subscriberUp) {
      this.#subscriberUp = false;
      this.#sync.setOnline(false);
    }
    this.#updateHealth();
  }

  #ready(role: RedisRole): void {
    if (this.#closing) return;
    if (role === 'command') {
      this.#commandConnected = true;
      void this.#commandReady();
    } else {
      this.#subscriberUp = true;
      this.#sync.setOnline(true);
      this.#updateHealth();
    }
  }

  /** After every (re)connect: load scripts, announce this node, re-register its pullers. */
  async #commandReady(): Promise<void> {
    const epoch = ++this.#commandEpoch;
    try {
      for (const name of Object.keys(SCRIPTS) as ScriptName[]) {
        this.#shas.set(name, String(await this.#redis.command(['SCRIPT', 'LOAD', SCRIPTS[name]])));
      }
      await this.#script('heartbeat', [this.#names.aliveKey(this.node.hex)], [String(ALIVE_TTL_MS)]);
      const pending: Array<Promise<unknown>> = [];
      for (const [topic, ids] of this.#pendingLeaves) {
        for (const id of ids) pending.push(this.#leave(topic, id));
      }
      this.#pendingLeaves.clear();
      for (const topic of this.#pullersByTopic.keys()) pending.push(this.#join(topic));
      await Promise.all(pending);
      if (epoch !== this.#commandEpoch) return;
      this.#commandUp = true;
      if (!this.#stalled) this.#moveLocalQueues();
      this.#updateHealth();
    } catch (error) {
      if (epoch !== this.#commandEpoch || this.#closing) return;
      this.#lastError = error instanceof Error ? error.message : String(error);
      // The connection is up but something failed: try again shortly.
      setTimeout(() => {
        if (epoch === this.#commandEpoch && this.#commandConnected) void this.#commandReady();
      }, 500);
    }
  }

  #updateHealth(): void {
    const healthy = this.#healthy();
    if (healthy === this.#wasHealthy) return;
    this.#wasHealthy = healthy;
    const where = redactRedisUrl(this.#url);
    if (healthy) {
      this.#log(`redis: ${this.#everHealthy ? 'reconnected to' : 'connected to'} ${where} as node ${this.node.hex}`);
      this.#everHealthy = true;
      for (const topic of this.#pullersByTopic.keys()) this.#drain(topic);
      const waiters = this.#connectWaiters;
      this.#connectWaiters = [];
      for (const wake of waiters) wake();
    } else if (!this.#closing) {
      this.#log(`redis: lost ${where} (${this.#lastError ?? 'disconnected'}); serving local clients, reconnecting`);
    }
  }

  /**
   * Pushes that queued here while Redis was away go to the shared queue, oldest first. Called
   * the moment pushes may go to Redis again, before any new push can overtake them.
   */
  #moveLocalQueues(): void {
    for (const [topic, messages] of this.#core.pushPull.takeWaiting()) {
      for (const message of messages) {
        void this.#push(topic, message)?.then((result) => {
          if (result === 'delivered' || result === 'queued') return;
          this.#core.counters.forwardFailures++;
          this.#log(`redis: a push to ${JSON.stringify(topic)} queued during the outage was lost (${result})`);
        });
      }
    }
  }

  #beat(): void {
    if (!this.#commandUp || this.#closing) return;
    if (this.#heartbeatPending) return;
    const epoch = this.#commandEpoch;
    this.#heartbeatPending = true;
    // A Redis that stops answering keeps the connection open: only a timer notices.
    const timer = setTimeout(() => {
      if (epoch !== this.#commandEpoch || this.#stalled) return;
      this.#lastError = `no answer to the heartbeat for ${HEARTBEAT_TIMEOUT_MS} ms`;
      this.#stalled = true;
      this.#updateHealth();
    }, HEARTBEAT_TIMEOUT_MS);
    const answered = () => {
      clearTimeout(timer);
      this.#heartbeatPending = false;
    };
    this.#script('heartbeat', [this.#names.aliveKey(this.node.hex)], [String(ALIVE_TTL_MS)]).then(
      (existed) => {
        answered();
        if (this.#stalled && epoch === this.#commandEpoch) {
          this.#stalled = false;
          this.#moveLocalQueues();
          this.#updateHealth();
        }
        // Our alive key had expired (this process stalled): others may have dropped our pullers.
        if (Number(existed) === 0 && epoch === this.#commandEpoch) {
          for (const topic of this.#pullersByTopic.keys()) void this.#join(topic);
        }
      },
      () => answered(),
    );
    for (const topic of this.#needsDrain) this.#drain(topic);
  }

  async #shutdown(): Promise<void> {
    clearInterval(this.#heartbeat);
    this.#sync.close();
    const leaving: Array<Promise<unknown>> = [];
    if (this.#commandUp) {
      for (const [topic, pullers] of this.#pullersByTopic) {
        for (const id of pullers.values()) leaving.push(this.#leave(topic, id));
      }
      leaving.push(this.#redis.command(['DEL', this.#names.aliveKey(this.node.hex)]).catch(() => {}));
    }
    this.#commandUp = false;
    this.#subscriberUp = false;
    await withTimeout(Promise.allSettled(leaving), 1000);
    await this.#redis.close();
  }

  // --- pub/sub and bus ------------------------------------------------------------------------

  #channel(kind: 'sub' | 'bus', topic: string): string {
    return kind === 'sub' ? this.#names.subChannel(topic) : this.#names.busChannel(topic);
  }

  #prepare(channel: string): Promise<void> | undefined {
    if (this.#closing) return undefined;
    const waiting = this.#sync.hold(channel);
    return waiting && withTimeout(waiting, PREPARE_TIMEOUT_MS);
  }

  #topicInfo(topic: string): { bytes: Uint8Array; subChannels: string[] } {
    let info = this.#topicCache.get(topic);
    if (!info) {
      info = { bytes: topicBytes(topic), subChannels: this.#core.ancestorsOf(topic).map((name) => this.#names.subChannel(name)) };
      if (this.#topicCache.size >= 10_000) this.#topicCache.clear();
      this.#topicCache.set(topic, info);
    }
    return info;
  }

  #forwardPublish(topic: string, message: BrokerMessage): void {
    const payload = this.#pack(topic, message);
    if (payload) this.#enqueue(this.#topicInfo(topic).subChannels, payload);
  }

  #forward(channel: string, topic: string, message: BrokerMessage): void {
    const payload = this.#pack(topic, message);
    if (payload) this.#enqueue([channel], payload);
  }

  /**
   * Forwards go out in batches, one command per event-loop turn (a socket's frames arrive many
   * to a turn): Redis and the client then pay per batch, not per message. Order is kept.
   */
  #enqueue(channels: string[], payload: Uint8Array): void {
    this.#batch.push(String(channels.length), ...channels, payload);
    this.#batchMessages++;
    this.#batchBytes += payload.byteLength;
    this.#inFlightBytes += payload.byteLength;
    if (this.#batchBytes >= FORWARD_BATCH_BYTES) this.#flushBatch();
    else if (!this.#batchScheduled) {
      this.#batchScheduled = true;
      queueMicrotask(this.#flushBatch);
    }
  }

  readonly #flushBatch = (): void => {
    this.#batchScheduled = false;
    if (this.#batchMessages === 0) return;
    const args = this.#batch;
    const messages = this.#batchMessages;
    const bytes = this.#batchBytes;
    this.#batch = [];
    this.#batchMessages = 0;
    this.#batchBytes = 0;
    this.#evalArgs('publishBatch', [], args).then(
      () => {
        this.#inFlightBytes -= bytes;
      },
      () => {
        this.#inFlightBytes -= bytes;
        this.#core.counters.forwardFailures += messages;
      },
    );
  };

  /** The envelope, or undefined (counted) when Redis cannot take it now. */
  #pack(topic: string, message: BrokerMessage): Uint8Array | undefined {
    if (!this.#commandUp || this.#stalled || this.#inFlightBytes > MAX_IN_FLIGHT_BYTES) {
      this.#core.counters.forwardFailures++;
      return undefined;
    }
    this.#sequence = (this.#sequence + 1) >>> 0;
    return encodeEnvelope(this.node, this.#sequence, this.#topicInfo(topic).bytes, message);
  }

  /** Every message from the subscriber connection; the channel's kind letter routes it. */
  readonly #onChannelMessage = (payload: Uint8Array, channel: Uint8Array): void => {
    const kind = channel[this.#names.prefix.length];
    if (kind === CHANNEL_KIND.node) {
      this.#onRoutedPush(payload);
      return;
    }
    if (sentBy(payload, this.node)) return;
    if (kind === CHANNEL_KIND.sub) {
      const envelope = decodeEnvelope(payload);
      if (!envelope) return;
      // One publish reaches a node once per ancestor channel it holds, back to back: keep one.
      if (envelope.sequence === this.#lastSequence && envelope.nodeLow === this.#lastLow && envelope.nodeHigh === this.#lastHigh) return;
      this.#lastSequence = envelope.sequence;
      this.#lastHigh = envelope.nodeHigh;
      this.#lastLow = envelope.nodeLow;
      this.#core.deliverPublish(envelope.topic, envelope.message);
    } else if (kind === CHANNEL_KIND.bus) {
      const envelope = decodeEnvelope(payload);
      if (envelope) this.#core.bus.send(envelope.topic, envelope.message);
    }
  };

  // --- push/pull ----------------------------------------------------------------------------

  #pullerAdded(topic: string, puller: Receiver): void {
    if (this.#closing) return;
    const id = `${this.node.hex}/${++this.#pullerCounter}`;
    this.#pullerById.set(id, { topic, receiver: puller });
    let pullers = this.#pullersByTopic.get(topic);
    if (!pullers) this.#pullersByTopic.set(topic, (pullers = new Map()));
    pullers.set(puller, id);
    if (this.#commandUp) void this.#join(topic, [id]);
  }

  #pullerRemoved(topic: string, puller: Receiver): void {
    const pullers = this.#pullersByTopic.get(topic);
    const id = pullers?.get(puller);
    if (!pullers || id === undefined) return;
    pullers.delete(puller);
    if (pullers.size === 0) {
      this.#pullersByTopic.delete(topic);
      this.#needsDrain.delete(topic);
    }
    this.#pullerById.delete(id);
    if (this.#closing) return;
    if (this.#commandUp) void this.#leave(topic, id);
    else this.#rememberLeave(topic, id);
  }

  #rememberLeave(topic: string, id: string): void {
    let ids = this.#pendingLeaves.get(topic);
    if (!ids) this.#pendingLeaves.set(topic, (ids = new Set()));
    ids.add(id);
  }

  #join(topic: string, ids?: string[]): Promise<unknown> {
    const all = ids ?? [...(this.#pullersByTopic.get(topic)?.values() ?? [])];
    if (all.length === 0) return Promise.resolve();
    return this.#script('join', pushTopicKeys(this.#names, topic), [this.#names.prefix, String(DRAIN_BATCH), ...all]).then(
      (reply) => this.#afterDrain(topic, reply),
      () => {
        // Re-registered on the next reconnect.
      },
    );
  }

  #leave(topic: string, id: string): Promise<unknown> {
    const [pullers, cursor] = pushTopicKeys(this.#names, topic);
    return this.#script('leave', [pullers, cursor], [id]).catch(() => this.#rememberLeave(topic, id));
  }

  #drain(topic: string): void {
    if (!this.#commandUp || !this.#pullersByTopic.has(topic)) return;
    this.#needsDrain.delete(topic);
    this.#script('drain', pushTopicKeys(this.#names, topic), [this.#names.prefix, String(DRAIN_BATCH)]).then(
      (reply) => this.#afterDrain(topic, reply),
      () => this.#needsDrain.add(topic),
    );
  }

  /** `{moved, waiting}` from a join or drain: keep going while it makes progress. */
  #afterDrain(topic: string, reply: unknown): void {
    const [moved, waiting] = (reply as [number, number] | undefined) ?? [0, 0];
    if (waiting === 0 || !this.#pullersByTopic.has(topic)) return;
    if (moved > 0) this.#drain(topic);
    else this.#needsDrain.add(topic);
  }

  #push(topic: string, message: BrokerMessage): Promise<PushResult> | undefined {
    if (!this.#commandUp || this.#stalled) return undefined; // the local queue serves meanwhile
    const payload = this.#pack(topic, message);
    if (!payload) return Promise.resolve('unavailable');
    return this.#pushPayload(topic, payload);
  }

  #pushPayload(topic: string, payload: Uint8Array): Promise<PushResult> {
    this.#inFlightBytes += payload.byteLength;
    return this.#script('push', pushTopicKeys(this.#names, topic), [this.#names.prefix, this.#pushQueueLimit, payload, String(DRAIN_BATCH)]).then(
      (code) => {
        this.#inFlightBytes -= payload.byteLength;
        return Number(code) === 1 ? 'delivered' : Number(code) === 2 ? 'queued' : 'full';
      },
      () => {
        this.#inFlightBytes -= payload.byteLength;
        this.#core.counters.forwardFailures++;
        return 'unavailable';
      },
    );
  }

  /** A push message Redis routed to one of this node's pullers: `PULLER-ID \n envelope`. */
  #onRoutedPush(payload: Uint8Array): void {
    const newline = payload.indexOf(10);
    if (newline <= 0) return;
    const id = String.fromCharCode(...payload.subarray(0, newline));
    const bytes = payload.subarray(newline + 1);
    const envelope = decodeEnvelope(bytes);
    if (!envelope) return;
    const delivery = this.#core.delivery;
    const target = this.#pullerById.get(id);
    if (target && delivery.deliver(target.receiver, envelope.message, envelope.topic) === 1) return;
    // The puller left (or was dropped as slow) while the message travelled: another local
    // puller of the topic takes it, or it goes back to the cluster.
    for (const receiver of this.#pullersByTopic.get(envelope.topic)?.keys() ?? []) {
      if (delivery.deliver(receiver, envelope.message, envelope.topic) === 1) return;
    }
    if (!this.#commandUp) {
      this.#core.counters.forwardFailures++;
      return;
    }
    void this.#pushPayload(envelope.topic, bytes.slice()).then((result) => {
      if (result === 'delivered' || result === 'queued') return;
      this.#core.counters.forwardFailures++;
      this.#log(`redis: a push to ${JSON.stringify(envelope.topic)} whose puller left could not be requeued (${result})`);
    });
  }

  // --- scripts --------------------------------------------------------------------------------

  #script(name: ScriptName, keys: string[], args: Array<string | Uint8Array>): Promise<unknown> {
    return this.#evalArgs(name, keys, args);
  }

  #evalArgs(name: ScriptName, keys: string[], args: Array<string | Uint8Array>): Promise<unknown> {
    const sha = this.#shas.get(name);
    const tail = [String(keys.length), ...keys, ...args];
    if (!sha) return this.#redis.command(['EVAL', SCRIPTS[name], ...tail]);
    return this.#redis.command(['EVALSHA', sha, ...tail]).catch((error: unknown) => {
      // Someone flushed Redis's script cache: run the source (and let it be cached again).
      if (!(error instanceof Error) || !error.message.startsWith('NOSCRIPT')) throw error;
      return this.#redis.command(['EVAL', SCRIPTS[name], ...tail]);
    });
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(undefined), ms);
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      () => {
        clearTimeout(timer);
        resolve(undefined);
      },
    );
  });
}
