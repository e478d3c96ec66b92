/**
 * The Redis engine: broker processes on one Redis act as one broker (the guarantee is written on
 * the `Engine` contract, `src/core/engine.ts`). Two connections per node:
 *
 * - **command**: the forwards of local publishes (`forward-batch.ts`; one channel per ancestor
 *   topic, so a subscriber of `wong` anywhere hears `wong/amy`), the push/pull scripts
 *   (`push-pull.ts`), the heartbeat (`health.ts`).
 * - **subscriber**: SUBSCRIBE only to the channels this node's own receivers need
 *   (`SubscriptionSync`), plus this node's channel for push messages routed to its pullers;
 *   what arrives is routed by `inbound.ts`.
 *
 * Local delivery never waits for Redis: the core delivers a message published here before the
 * engine sees it. While Redis is unreachable the node keeps serving its own clients as a single
 * broker, counts what it could not forward (`forwardFailures`), answers `/healthz` with 503, and
 * reconnects and resubscribes on its own.
 *
 * This file wires the pieces together and runs the connection lifecycle; the Redis client is
 * reached through `RedisTransport` (web-standard types), supplied by whoever builds the engine.
 */
import type { Engine, EngineEvents, EngineFactory, InterestKind, Publication, ReceiverKind, Recovery } from '../../core/engine.ts';
import type { PushResult } from '../../core/push-pull.ts';
import type { BrokerMessage } from '../../message.ts';
import type { Receiver } from '../../receiver.ts';
import { randomNodeId, type NodeId } from '../envelope.ts';
import { SubscriptionSync } from '../subscription-sync.ts';
import { deferredTransport, type RedisTransportLoader } from './deferred-transport.ts';
import { ForwardBatch } from './forward-batch.ts';
import { RedisHealth } from './health.ts';
import { Inbound } from './inbound.ts';
import { redisDatabase, redisNames, type RedisNames } from './keys.ts';
import { Outbound } from './outbound.ts';
import { ClusterPushPull } from './push-pull.ts';
import { PushAnswers } from './push-answers.ts';
import { RedisClock, redisTimeMs } from './redis-clock.ts';
import { ClusterHistory } from './cluster-history.ts';
import { ScriptRunner } from './script-runner.ts';
import type { RedisRole, RedisTransport } from './transport.ts';

/** How long a silent node counts as alive (its pullers are then dropped by the others). */
const ALIVE_TTL_MS = 5000;
/** Longest a new subscriber's upgrade waits for its Redis subscription. */
const PREPARE_TIMEOUT_MS = 2000;
/** Pause before setting up a command connection again after its setup failed. */
const SETUP_RETRY_MS = 500;

export interface RedisEngineInit {
  /** `redis://HOST:PORT/DB` */
  url: string;
  /** The bounds of each push topic's shared queue: messages, bytes. */
  pushQueueLimit: number;
  pushQueueBytes: number;
  /** The bound, in bytes, of every shared queue together. */
  maxHeldBytes: number;
  /** The Redis client (`src/adapters/redis/` has node-redis's), loaded when the engine starts. */
  loadTransport: RedisTransportLoader;
  /** History in Redis (cluster-history.ts): `historySize`, and `historyTtl` in ms. */
  history?: { size: number; ttlMs: number };
  log(line: string): void;
}

/** The engine factory for `new BrokerCore(limits, redisEngine(init))`. */
export function redisEngine(init: RedisEngineInit): EngineFactory {
  return (events) => new RedisEngine(events, init);
}

export class RedisEngine implements Engine {
  readonly node: NodeId = randomNodeId();
  readonly #names: RedisNames;
  readonly #redis: RedisTransport;
  readonly #scripts: ScriptRunner;
  readonly #health: RedisHealth;
  readonly #sync: SubscriptionSync;
  readonly #outbound: Outbound;
  readonly #forwards: ForwardBatch;
  readonly #pushPull: ClusterPushPull;
  readonly #heartbeat: () => Promise<boolean>;
  #closing: Promise<void> | undefined;
  /** Present with history, as the Engine contract has it. */
  readonly stamp: ((topic: string, message: BrokerMessage) => Publication) | undefined;
  readonly recover: ((topic: string, since: string | undefined) => Promise<Recovery>) | undefined;

  constructor(events: EngineEvents, init: RedisEngineInit) {
    const names = (this.#names = redisNames(redisDatabase(init.url)));
    const aliveKey = names.aliveKey(this.node.hex);
    const inbound = new Inbound({
      node: this.node,
      prefix: names.prefix,
      events,
      routedPush: (payload) => this.#pushPull.routed(payload),
    });
    this.#redis = deferredTransport(
      init.loadTransport,
      {
        url: init.url,
        name: `broker-hono-${this.node.hex}`,
        events: {
          message: inbound.receive,
          ready: (role) => this.#ready(role),
          down: (role) => this.#down(role),
          error: (_role, message) => this.#health.failed(message),
        },
      },
      (message) => {
        this.#health.failed(message);
        init.log(`redis: ${message}`);
      },
    );
    const scripts = (this.#scripts = new ScriptRunner(this.#redis));
    const clock = new RedisClock();
    // Refreshes the alive key and reads Redis's clock (push deadlines are on it).
    const heartbeat = async (): Promise<boolean> => {
      const sentAt = Date.now();
      const [existed, seconds, microseconds] = (await scripts.run('heartbeat', [aliveKey], [String(ALIVE_TTL_MS)])) as [unknown, unknown, unknown];
      clock.observe(sentAt, Date.now(), redisTimeMs(seconds, microseconds));
      return Number(existed) !== 0;
    };
    this.#heartbeat = heartbeat;
    this.#sync = new SubscriptionSync(
      {
        subscribe: (channels) => this.#redis.subscribe(channels),
        unsubscribe: (channels) => this.#redis.unsubscribe(channels),
      },
      () => this.#health.update(),
    );
    this.#sync.want(names.nodeChannel(this.node.hex));
    const health = (this.#health = new RedisHealth({
      url: init.url,
      nodeHex: this.node.hex,
      log: init.log,
      subscriptionsSettled: () => this.#sync.settled,
      heartbeat,
      onHealthy: () => this.#pushPull.drainAll(),
      onStallCleared: () => this.#pushPull.moveLocalQueue(),
      onAliveExpired: () => this.#pushPull.rejoin(),
      onBeat: () => this.#pushPull.drainWaiting(),
    }));
    const outbound = (this.#outbound = new Outbound({
      node: this.node,
      names,
      ancestorsOf: events.ancestorsOf,
      canSend: () => health.canSend,
      failed: events.forwardFailed,
    }));
    this.#forwards = new ForwardBatch({
      send: (args) => scripts.run('publishBatch', [], args),
      sending: (bytes) => outbound.sending(bytes),
      settled: (bytes) => outbound.settled(bytes),
      failed: events.forwardFailed,
    });
    this.#pushPull = new ClusterPushPull({
      nodeHex: this.node.hex,
      names,
      limits: { pushQueueLimit: init.pushQueueLimit, pushQueueBytes: init.pushQueueBytes, maxHeldBytes: init.maxHeldBytes },
      scripts,
      outbound,
      answers: new PushAnswers(clock, (result) =>
        init.log(`redis: a push answered 503 (timeout) was ${result} after all: its answer came back too late`),
      ),
      events,
      writesRefused: (reason) => health.writesRefused(reason),
      commandUp: () => health.commandUp,
      canSend: () => health.canSend,
      closing: () => this.#closing !== undefined,
      log: init.log,
    });
    const history =
      init.history &&
      new ClusterHistory({
        names,
        ...init.history,
        scripts,
        outbound,
        ancestorsOf: events.ancestorsOf,
        failed: events.forwardFailed,
        subscribed: (topic) => this.prepare('sub', topic),
        canRead: () => health.canSend,
        canRelay: () => health.healthy(),
        closing: () => this.#closing !== undefined,
      });
    this.stamp = history && ((topic, message) => history.stamp(topic, message));
    this.recover = history && ((topic, since) => history.recover(topic, since));
  }

  // --- Engine -------------------------------------------------------------------------------

  topicActive(kind: InterestKind, topic: string): void {
    this.#sync.want(this.#channel(kind, topic));
  }

  topicIdle(kind: InterestKind, topic: string): void {
    this.#sync.unwant(this.#channel(kind, topic));
  }

  prepare(kind: ReceiverKind, topic: string): Promise<void> | undefined {
    if (kind === 'pull' || this.#closing) return undefined;
    const waiting = this.#sync.hold(this.#channel(kind, topic));
    return waiting && withTimeout(waiting, PREPARE_TIMEOUT_MS);
  }

  publish(topic: string, message: BrokerMessage): void {
    const payload = this.#outbound.pack(topic, message);
    if (payload) this.#forwards.add(this.#outbound.subChannels(topic), payload);
  }

  sendBus(topic: string, message: BrokerMessage): void {
    const payload = this.#outbound.pack(topic, message);
    if (payload) this.#forwards.add([this.#names.busChannel(topic)], payload);
  }

  pullerAdded(topic: string, puller: Receiver): void {
    this.#pushPull.pullerAdded(topic, puller);
  }

  pullerRemoved(topic: string, puller: Receiver): void {
    this.#pushPull.pullerRemoved(topic, puller);
  }

  push(topic: string, message: BrokerMessage): PushResult | Promise<PushResult> {
    return this.#pushPull.push(topic, message);
  }

  problem(): string | undefined {
    return this.#health.problem();
  }

  connected(timeoutMs: number): Promise<boolean> {
    return this.#health.connected(timeoutMs);
  }

  close(): Promise<void> {
    this.#closing ??= this.#shutdown();
    return this.#closing;
  }

  // --- connection lifecycle -----------------------------------------------------------------

  #channel(kind: InterestKind, topic: string): string {
    return kind === 'sub' ? this.#names.subChannel(topic) : this.#names.busChannel(topic);
  }

  #ready(role: RedisRole): void {
    if (this.#closing) return;
    if (role === 'command') {
      void this.#setUpCommand(this.#health.commandOpened());
    } else {
      this.#health.subscriberUp();
      this.#sync.setOnline(true);
      this.#health.update();
    }
  }

  #down(role: RedisRole): void {
    if (role === 'command') this.#health.commandLost();
    else if (this.#health.subscriberLost()) this.#sync.setOnline(false);
    this.#health.update();
  }

  /** After every (re)connect: load scripts, announce this node, re-register its pullers. */
  async #setUpCommand(epoch: number): Promise<void> {
    try {
      await this.#scripts.load();
      await this.#heartbeat();
      await this.#pushPull.reregister();
      if (!this.#health.commandSetUp(epoch)) return;
      // Before any new push can overtake what queued locally while Redis was away.
      if (!this.#health.stalled) this.#pushPull.moveLocalQueue();
      this.#health.update();
    } catch (error) {
      if (!this.#health.current(epoch) || this.#closing) return;
      this.#health.failed(error instanceof Error ? error.message : String(error));
      // The connection is up but something failed: try again shortly.
      setTimeout(() => {
        if (this.#health.current(epoch)) void this.#setUpCommand(this.#health.commandOpened());
      }, SETUP_RETRY_MS);
    }
  }

  async #shutdown(): Promise<void> {
    const leaving: Array<Promise<unknown>> = [];
    if (this.#health.commandUp) {
      leaving.push(...this.#pushPull.leaveAll());
      leaving.push(this.#redis.command(['DEL', this.#names.aliveKey(this.node.hex)]).catch(() => {}));
    }
    this.#health.close();
    this.#sync.close();
    await withTimeout(Promise.allSettled(leaving), 1000);
    await this.#redis.close();
  }
}

/** Resolves with the promise's value, or undefined if it fails or `ms` passes first. */
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
