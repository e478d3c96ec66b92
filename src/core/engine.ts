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
 * - **history** (`historySize` > 0): an engine that keeps it gives each publish its position in
 *   the stream of the topic and of each ancestor (stamped.ts), and `recover` replays a stream
 *   after a subscriber's id, or says what was lost (`StreamGap`). The memory engine keeps it in
 *   this process; the Redis engine in Redis streams, where the positions are given out, so a
 *   subscriber may resume on any node. Such a Redis engine relays every publish through Redis,
 *   this node's own subscribers included (`publish` answers `RELAYED`), so that every node
 *   delivers a stream in the one order its ids have.
 * - **push/pull: each message goes to exactly one puller**, round robin over every puller of the
 *   topic (every node's, in the order they joined). While no puller is reachable it waits,
 *   bounded by `pushQueueLimit`, `pushQueueBytes` and `maxHeldBytes` (a full queue refuses,
 *   never drops); once handed to a node it is at most once. A push refused (`full`,
 *   `full-bytes`, `over-budget`, `timeout`, or `unavailable` because Redis refuses writes) is
 *   never delivered afterwards; only a connection lost mid-push leaves its fate unknown.
 */
import type { BrokerMessage } from '../message.ts';
import type { Receiver } from '../receiver.ts';
import type { StampedMessage, StreamGap, StreamPosition } from '../stamped.ts';
import type { ByteBudget } from './byte-budget.ts';
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
  /**
   * Present when the engine keeps history: a message is about to be published on this node;
   * its ids, or `RELAYED` (see `Publication`). Called before local delivery.
   */
  stamp?(topic: string, message: BrokerMessage): Publication;
  /** A message was published on this node and delivered locally: carry it to the other nodes. */
  publish(topic: string, message: BrokerMessage): void;
  /**
   * Present with `stamp`: what the stream of `topic` holds after the id `since`
   * (as the client sent it), oldest first, and the gap when it cannot cover all of it. Never
   * rejects. The core calls it once the subscriber is attached and buffers what is delivered
   * to it meanwhile, so an engine may answer later (Redis) without a seam.
   *
   * `since` undefined: a subscription from the current end. Nothing to replay; `position` is the
   * stream's last position as read after the subscriber was attached (a stream with no epoch is
   * given one, at offset 0), or absent when it cannot be read.
   */
  recover?(topic: string, since: string | undefined): Recovery | Promise<Recovery>;
  /** What the engine's history holds in this process (for `/stats`). */
  historyStats?(): HistoryStats;
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

/**
 * What `Engine.stamp` did with a message. `undefined`: no ids from the engine (it cannot keep
 * this one); the core delivers locally, subscribers that want ids get positions counted per
 * subscription, and `publish` follows. A list: the message's position in the stream of the topic
 * and of each ancestor (`ancestorsOf` order), kept in history; the core delivers locally with
 * them, then calls `publish`. `RELAYED`: the engine has taken it and delivers it, on every node
 * this one included, through `EngineEvents.deliverStamped`; the core does nothing more.
 */
export type Publication = readonly StampedMessage[] | typeof RELAYED | undefined;
export const RELAYED = 'relayed';

/** A resuming subscriber's replay (see `Engine.recover`). */
export interface Recovery {
  /** The stream's messages after the subscriber's id, oldest first. */
  readonly entries: readonly StampedMessage[];
  /** Set when messages after the id were lost; the subscriber hears it before anything else. */
  readonly gap?: StreamGap;
  /** A recovery from the current end (no `since`): the stream's last position. */
  readonly position?: StreamPosition;
}

/** What history holds: live numbers, back to 0 once it has all expired. */
export interface HistoryStats {
  /** Topics whose stream holds at least one message. */
  topics: number;
  /** Distinct messages held (one publish counts once, whatever its depth). */
  messages: number;
  /** Bytes reserved for them (payloads and bookkeeping). */
  bytes: number;
}

/** What a server needs of its engine: health, waiting to join the other nodes, leaving them. */
export type EngineLifecycle = Pick<Engine, 'problem' | 'connected' | 'close'>;

/** What the core lets an engine do: deliver what other nodes sent, and report. Nothing more. */
export interface EngineEvents {
  /** Delivers a message published on another node to local subscribers of `topic` and its ancestors. */
  deliverPublish(topic: string, message: BrokerMessage): number;
  /**
   * Delivers one position of one stream (a publish relayed by an engine that keeps history) to
   * the local subscribers of exactly `stream`. `samePublish` is true when it is the same publish
   * as the previous call, on an ancestor's stream: a receiver subscribed to both gets it once.
   */
  deliverStamped(stream: string, message: StampedMessage, samePublish: boolean): number;
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
  /** The broker's byte budget (`maxHeldBytes`), for what the engine holds in this process (history). */
  readonly budget: ByteBudget;
}

/** Builds the engine of one core; the core calls it once, at construction. */
export type EngineFactory = (events: EngineEvents) => Engine;
