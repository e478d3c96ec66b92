/**
 * The engine contract: how a broker process reaches the others (the shape of Centrifuge's
 * `Broker` and `BrokerEventHandler`). The core delivers to its own receivers itself and tells its
 * engine what happened; the engine carries messages to and from other processes and hands what
 * arrives back through the narrow `EngineEvents` the core gives it. An engine never sees the
 * core, its registries or its counters.
 *
 * Two engines exist: `MemoryEngine` (the default: one process, nothing to carry) and the Redis
 * engine (`src/engine/redis/`), which joins processes into one broker.
 *
 * The guarantee every engine keeps:
 *
 * - **pub/sub and bus: at most once across nodes**, in publish order per publisher while the
 *   engine stays connected. A message published on a node reaches that node's own receivers
 *   directly, exactly once (the core delivers before it calls `publish` / `sendBus`); other
 *   nodes get it through the engine, or not at all while it is disconnected (counted with
 *   `forwardFailed`).
 * - **push/pull: each message goes to exactly one puller**, round robin over every puller of the
 *   topic (every node's, in the order they joined). While no puller is reachable it waits,
 *   bounded by `pushQueueLimit`, `pushQueueBytes` and `maxHeldBytes` (a full queue refuses,
 *   never drops); once handed to a node it is at most once. A push refused (`full`,
 *   `full-bytes`, `over-budget`, `timeout`, or `unavailable` because Redis refuses writes) is
 *   never delivered afterwards; only a connection lost mid-push leaves its fate unknown.
 */
import type { BrokerMessage } from '../message.ts';
import type { Receiver } from '../receiver.ts';
import type { PushResult } from './push-pull.ts';

/** Receivers whose topics an engine follows across nodes (pullers are followed one by one). */
export type InterestKind = 'sub' | 'bus';
/** What a receiver attaches as. */
export type ReceiverKind = InterestKind | 'pull';

export interface Engine {
  /** A topic of this kind got its first local receiver: other nodes' messages must reach here. */
  topicActive(kind: InterestKind, topic: string): void;
  /** A topic of this kind lost its last local receiver. */
  topicIdle(kind: InterestKind, topic: string): void;
  /**
   * Called before a receiver of this kind attaches (before the WebSocket upgrade or the SSE
   * response); a promise means "wait: other nodes' messages will reach it once this resolves".
   * It never rejects.
   */
  prepare(kind: ReceiverKind, topic: string): Promise<void> | undefined;
  /** A message was published on this node and delivered locally: carry it to the other nodes. */
  publish(topic: string, message: BrokerMessage): void;
  /** A bus message was sent on this node and delivered locally: carry it to the other nodes. */
  sendBus(topic: string, message: BrokerMessage): void;
  /** A local puller joined a push topic (the core has already added it to its local queue). */
  pullerAdded(topic: string, puller: Receiver): void;
  /** A local puller left a push topic (closed, or dropped as a slow consumer). */
  pullerRemoved(topic: string, puller: Receiver): void;
  /** Gives the message to exactly one puller, or queues it; `full` when refused. */
  push(topic: string, message: BrokerMessage): PushResult | Promise<PushResult>;
  /** A short reason, naming the engine, when other nodes cannot be reached; else undefined. */
  problem(): string | undefined;
  /** Resolves true once connected (and resynchronised), false if `timeoutMs` passes first. */
  connected(timeoutMs: number): Promise<boolean>;
  /** Leaves the other nodes cleanly (this node's pullers are withdrawn) and closes connections. */
  close(): Promise<void>;
}

/** What a server needs of its engine: health, waiting to join the other nodes, leaving them. */
export type EngineLifecycle = Pick<Engine, 'problem' | 'connected' | 'close'>;

/** What the core lets an engine do: deliver what other nodes sent, and report. Nothing more. */
export interface EngineEvents {
  /** Delivers a message published on another node to local subscribers of `topic` and its ancestors. */
  deliverPublish(topic: string, message: BrokerMessage): number;
  /** Delivers a bus message sent on another node to the local peers of exactly `topic`. */
  deliverBus(topic: string, message: BrokerMessage): number;
  /**
   * Hands a push routed to this node to one local puller, under the slow-consumer rule; false
   * when it was not taken (the puller is gone or was dropped as slow just now).
   */
  deliverToPuller(puller: Receiver, topic: string, message: BrokerMessage): boolean;
  /**
   * This process's own push/pull: round robin over the local pullers of `topic`, else its
   * bounded local queue (the memory engine's push; the Redis engine's while Redis is away).
   */
  pushLocally(topic: string, message: BrokerMessage): PushResult;
  /** Removes and returns, oldest first, what waits in the local queue of topics with no local puller. */
  takeLocalQueue(): Array<[topic: string, messages: BrokerMessage[]]>;
  /** Counts messages that could not be carried to other nodes (`forwardFailures` in `/stats`). */
  forwardFailed(count: number): void;
  /** Counts a push the engine refused for bytes (`pushQueueBytes`, `maxHeldBytes`): `budgetRefusals`. */
  refusedForBytes(): void;
  /** `topic` and its ancestors, `topic` first (cached by the core). */
  ancestorsOf(topic: string): readonly string[];
}

/** Builds the engine of one core; the core calls it once, at construction. */
export type EngineFactory = (events: EngineEvents) => Engine;
