/**
 * The broker core: who is connected to what, and moving messages between them. Transports (the
 * Hono app's WebSocket and SSE handlers, in-process callbacks) only ever call these methods.
 *
 * The seed's API is here under TypeScript names: `addTopicSubscriber`, `removeTopicSubscriber`,
 * `publishTopicMessage`.
 */
import { ancestors, parseTopic, type TopicLimits } from '../topic.ts';
import { BrokerMessage, type MessageData } from '../message.ts';
import { receiverFor, type Receiver, type Subscriber } from '../receiver.ts';
import { Counters, type BrokerStats } from './counters.ts';
import { Delivery } from './delivery.ts';
import { Subscriptions } from './subscriptions.ts';
import { Bus } from './bus.ts';
import { PushPull, type PushResult } from './push-pull.ts';

export interface CoreLimits extends TopicLimits {
  maxBufferedBytes: number;
  pushQueueLimit: number;
}

/**
 * Topics whose ancestor lists are kept. Publisher sockets reuse a few topics; POSTs to ever new
 * topics must not grow memory much (a 1 KiB, 32-deep topic costs a few KiB here), so the bound
 * is small and the cache is simply dropped when full (recomputing is cheap).
 */
const ANCESTOR_CACHE_ENTRIES = 1024;

/** What a receiver is attached as, so it can be detached from the right registry. */
type Attachment = { kind: 'sub' | 'bus' | 'pull'; topic: string };

/**
 * Hooks a cluster engine sets to follow local interest and forward local publishes. With none
 * set the broker is a single in-memory process (the memory engine).
 */
export interface ClusterHooks {
  /** A topic of this kind got its first local receiver. */
  topicActive?(kind: 'sub' | 'bus', topic: string): void;
  /** A topic of this kind lost its last local receiver. */
  topicIdle?(kind: 'sub' | 'bus', topic: string): void;
  /**
   * Called before a receiver of this kind attaches (before the WebSocket upgrade); a promise
   * means "wait: other nodes' messages will reach it once this resolves".
   */
  prepare?(kind: 'sub' | 'bus' | 'pull', topic: string): Promise<void> | undefined;
  /** Called after local delivery of a message published on this node. */
  forwardPublish?(topic: string, message: BrokerMessage): void;
  forwardBus?(topic: string, message: BrokerMessage): void;
  /** A local puller joined / left a push topic. */
  pullerAdded?(topic: string, puller: Receiver): void;
  pullerRemoved?(topic: string, puller: Receiver): void;
  /** Takes over a push (cluster-wide round robin); undefined leaves it to the local queue. */
  push?(topic: string, message: BrokerMessage): Promise<PushResult> | undefined;
}

export class BrokerCore {
  readonly counters = new Counters();
  readonly delivery: Delivery;
  readonly subscriptions: Subscriptions;
  readonly bus: Bus;
  readonly pushPull: PushPull;
  cluster: ClusterHooks = {};

  /** One attachment as itself (the common case: a socket is one subscriber), several as a list. */
  readonly #attachments = new Map<Receiver, Attachment | Attachment[]>();
  readonly #ancestorCache = new Map<string, string[]>();

  constructor(readonly limits: CoreLimits) {
    this.delivery = new Delivery(this.counters, limits.maxBufferedBytes, (receiver) => this.detach(receiver));
    this.subscriptions = new Subscriptions(this.delivery);
    this.bus = new Bus(this.delivery);
    this.pushPull = new PushPull(this.delivery, limits.pushQueueLimit);
  }

  // --- the seed's API -------------------------------------------------------------------------

  /** Subscribes to `topic` and its descendants. Throws a TypeError for an invalid topic. */
  addTopicSubscriber(topic: string, subscriber: Subscriber | Receiver): void {
    this.subscribeValidTopic(this.#validTopic(topic), receiverFor(subscriber));
  }

  /**
   * `addTopicSubscriber` for a topic already validated and normalised (a subscriber socket's,
   * checked at upgrade), so a connection does not parse its topic twice.
   */
  subscribeValidTopic(name: string, receiver: Receiver): void {
    if (!this.subscriptions.add(name, receiver)) return;
    this.#attach(receiver, { kind: 'sub', topic: name });
    this.counters.subscribers++;
    if (this.subscriptions.sizeOf(name) === 1) this.cluster.topicActive?.('sub', name);
  }

  /** Undoes `addTopicSubscriber`; returns false if it was not subscribed. */
  removeTopicSubscriber(topic: string, subscriber: Subscriber | Receiver): boolean {
    const receiver = receiverFor(subscriber);
    if (!this.subscriptions.remove(topic, receiver)) return false;
    this.#detachOne(receiver, 'sub', topic);
    this.counters.subscribers--;
    if (!this.subscriptions.has(topic)) this.cluster.topicIdle?.('sub', topic);
    return true;
  }

  /**
   * Publishes to the subscribers of `topic` and each ancestor. Returns how many local receivers
   * got it. Throws a TypeError for an invalid topic.
   */
  publishTopicMessage(topic: string, message: MessageData | BrokerMessage): number {
    const name = this.#validTopic(topic);
    return this.publishValidTopic(name, message instanceof BrokerMessage ? message : new BrokerMessage(message));
  }

  /**
   * `publishTopicMessage` for a topic already validated and normalised (a publisher socket's,
   * checked once at upgrade), so a socket's every frame does not parse its topic again.
   */
  publishValidTopic(topic: string, message: BrokerMessage): number {
    this.counters.messagesIn++;
    const delivered = this.deliverPublish(topic, message);
    this.cluster.forwardPublish?.(topic, message);
    return delivered;
  }

  /** Local delivery only (also what a cluster engine calls for messages from other nodes). */
  deliverPublish(topic: string, message: BrokerMessage): number {
    return this.subscriptions.publish(topic, this.ancestorsOf(topic), message);
  }

  // --- bus -----------------------------------------------------------------------------------

  joinBus(topic: string, peer: Receiver, echo: boolean): void {
    const isNew = !this.bus.has(topic);
    this.bus.join(topic, peer, echo);
    this.#attach(peer, { kind: 'bus', topic });
    this.counters.peers++;
    if (isNew) this.cluster.topicActive?.('bus', topic);
  }

  leaveBus(topic: string, peer: Receiver): boolean {
    if (!this.bus.leave(topic, peer)) return false;
    this.#detachOne(peer, 'bus', topic);
    this.counters.peers--;
    if (!this.bus.has(topic)) this.cluster.topicIdle?.('bus', topic);
    return true;
  }

  /** Sends to every peer of `topic` (but the sender, unless it joined with echo). */
  sendBus(topic: string, message: MessageData | BrokerMessage, sender?: Receiver): number {
    const brokerMessage = message instanceof BrokerMessage ? message : new BrokerMessage(message);
    this.counters.messagesIn++;
    const delivered = this.bus.send(topic, brokerMessage, sender);
    this.cluster.forwardBus?.(topic, brokerMessage);
    return delivered;
  }

  // --- push/pull -----------------------------------------------------------------------------

  addPuller(topic: string, puller: Receiver): void {
    this.#attach(puller, { kind: 'pull', topic });
    this.counters.pullers++;
    this.pushPull.addPuller(topic, puller);
    this.cluster.pullerAdded?.(topic, puller);
  }

  removePuller(topic: string, puller: Receiver): boolean {
    if (!this.pushPull.removePuller(topic, puller)) return false;
    this.#detachOne(puller, 'pull', topic);
    this.counters.pullers--;
    this.cluster.pullerRemoved?.(topic, puller);
    return true;
  }

  /**
   * Gives the message to the next puller, or queues it; `full` means it was refused. In cluster
   * mode the answer comes from Redis, so it is a promise.
   */
  push(topic: string, message: MessageData | BrokerMessage): PushResult | Promise<PushResult> {
    const brokerMessage = message instanceof BrokerMessage ? message : new BrokerMessage(message);
    const clustered = this.cluster.push?.(topic, brokerMessage);
    if (clustered) {
      return clustered.then((result) => {
        if (result === 'delivered' || result === 'queued') this.counters.messagesIn++;
        return result;
      });
    }
    const result = this.pushPull.push(topic, brokerMessage);
    if (result !== 'full') this.counters.messagesIn++;
    return result;
  }

  // --- bookkeeping ---------------------------------------------------------------------------

  /** Removes a receiver from everything it is attached to (a slow consumer, a closed socket). */
  detach(receiver: Receiver): void {
    const attachments = this.#attachments.get(receiver);
    if (!attachments) return;
    for (const { kind, topic } of Array.isArray(attachments) ? [...attachments] : [attachments]) {
      if (kind === 'sub') this.removeTopicSubscriber(topic, receiver);
      else if (kind === 'bus') this.leaveBus(topic, receiver);
      else this.removePuller(topic, receiver);
    }
  }

  /** The topic and its ancestors, cached for topics that are used again (publisher sockets). */
  ancestorsOf(topic: string): string[] {
    let list = this.#ancestorCache.get(topic);
    if (!list) {
      list = ancestors(topic);
      if (this.#ancestorCache.size >= ANCESTOR_CACHE_ENTRIES) this.#ancestorCache.clear();
      this.#ancestorCache.set(topic, list);
    }
    return list;
  }

  stats(): BrokerStats {
    const topics = new Set<string>(this.subscriptions.topicNames());
    for (const name of this.bus.topicNames()) topics.add(name);
    for (const name of this.pushPull.topicNames()) topics.add(name);
    const c = this.counters;
    return {
      connections: c.connections,
      subscribers: c.subscribers,
      publishers: c.publishers,
      peers: c.peers,
      pushers: c.pushers,
      pullers: c.pullers,
      topics: topics.size,
      queued: this.pushPull.queued,
      messagesIn: c.messagesIn,
      messagesOut: c.messagesOut,
      slowConsumerDisconnects: c.slowConsumerDisconnects,
      uptimeSeconds: Math.floor((Date.now() - c.startedAt) / 1000),
      refused: c.refused,
      forwardFailures: c.forwardFailures,
    };
  }

  #validTopic(topic: string): string {
    const parsed = parseTopic(topic, this.limits);
    if (!parsed.ok) throw new TypeError(`invalid topic ${JSON.stringify(topic)}: ${parsed.error}`);
    return parsed.topic.name;
  }

  #attach(receiver: Receiver, attachment: Attachment): void {
    const existing = this.#attachments.get(receiver);
    if (Array.isArray(existing)) {
      existing.push(attachment);
      return;
    }
    if (existing) {
      this.#attachments.set(receiver, [existing, attachment]);
      return;
    }
    this.#attachments.set(receiver, attachment);
    // Attached anew after being dropped as a slow consumer: it gets messages again.
    this.delivery.readmit(receiver);
  }

  #detachOne(receiver: Receiver, kind: Attachment['kind'], topic: string): void {
    const existing = this.#attachments.get(receiver);
    if (!existing) return;
    if (!Array.isArray(existing)) {
      if (existing.kind === kind && existing.topic === topic) this.#attachments.delete(receiver);
      return;
    }
    const index = existing.findIndex((a) => a.kind === kind && a.topic === topic);
    if (index !== -1) existing.splice(index, 1);
    if (existing.length === 0) this.#attachments.delete(receiver);
  }
}
