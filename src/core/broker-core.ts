/**
 * The broker core: who is connected to what, and moving messages between them. Transports (the
 * Hono app's WebSocket and SSE handlers, in-process callbacks) only ever call these methods. The
 * core delivers to this process's receivers and tells its engine (see engine.ts) what happened,
 * so the engine can carry messages to and from other processes.
 *
 * The seed's API is here under TypeScript names: `addTopicSubscriber`, `removeTopicSubscriber`,
 * `publishTopicMessage`.
 */
import { ancestors, parseTopic, type TopicLimits } from '../topic.ts';
import { BrokerMessage, type MessageData } from '../message.ts';
import { formatStreamId } from '../stamped.ts';
import { receiverFor, type Receiver, type Subscriber } from '../receiver.ts';
import { Counters, type BrokerStats } from './counters.ts';
import { Delivery } from './delivery.ts';
import { PublishPath, Subscriptions } from './subscriptions.ts';
import { Bus } from './bus.ts';
import { PushPull, type PushResult } from './push-pull.ts';
import { HeldBytes } from './held-bytes.ts';
import { TopicCount } from './topic-count.ts';
import { RELAYED, type Engine, type EngineFactory, type EngineLifecycle, type ReceiverKind } from './engine.ts';
import { resume, type ResumeHost } from './resume.ts';
import { MemoryEngine } from './memory-engine.ts';

export interface CoreLimits extends TopicLimits {
  maxBufferedBytes: number;
  pushQueueLimit: number;
  /** Bytes one push topic's queue holds (default: unbounded, for in-process use and tests). */
  pushQueueBytes?: number;
  /** Bytes the broker holds for clients at once (default: unbounded). */
  maxHeldBytes?: number;
}

/**
 * Topics whose publish paths (ancestor lists) are kept, for POSTs and the engine; a publisher
 * socket holds its own. POSTs to ever new topics must not grow memory much (a 1 KiB, 32-deep
 * topic costs a few KiB here), so the bound is small and the cache is simply dropped when full
 * (recomputing is cheap).
 */
const PATH_CACHE_ENTRIES = 1024;

/** What a receiver is attached as, so it can be detached from the right registry. */
type Attachment = { kind: ReceiverKind; topic: string };
/**
 * A receiver's attachments as kept: a subscriber's one topic as the topic itself (the common case,
 * a subscriber socket: no object per connection), one other attachment as itself, several as a list.
 */
type Attached = string | Attachment | Attachment[];

function attachmentsIn(attached: Attached): Attachment[] {
  return typeof attached === 'string' ? [{ kind: 'sub', topic: attached }] : Array.isArray(attached) ? [...attached] : [attached];
}

export class BrokerCore {
  /** Live connections and totals; the transports count their own connections here too. */
  readonly counters: Counters = new Counters();
  /**
   * The broker's byte budget (`maxHeldBytes`): queued pushes reserve from it; so must anything
   * else held for clients (POST bodies being read, history), reached as `core.budget`.
   */
  readonly budget: HeldBytes;
  readonly #topics: TopicCount;
  readonly #delivery: Delivery;
  readonly #subscriptions: Subscriptions;
  readonly #bus: Bus;
  readonly #pushPull: PushPull;
  readonly #engine: Engine;
  /** What resuming subscribers need of the core (resume.ts). */
  readonly #resumeHost: ResumeHost;

  readonly #attachments = new Map<Receiver, Attached>();
  readonly #pathCache = new Map<string, PublishPath>();

  /** `engine` builds the engine (chosen once, here); the default is one process in memory. */
  constructor(
    readonly limits: CoreLimits,
    engine: EngineFactory = (events) => new MemoryEngine(events),
  ) {
    this.#delivery = new Delivery(
      this.counters,
      limits.maxBufferedBytes,
      (receiver) => this.detach(receiver),
      // Not in the middle of the delivery that closed the seam: that one goes out individually.
      (receiver) => queueMicrotask(() => this.#promote(receiver)),
    );
    this.budget = new HeldBytes(limits.maxHeldBytes ?? Number.POSITIVE_INFINITY);
    // Each registry reports its topics as they come and go, so `stats()` does not walk them.
    this.#topics = new TopicCount([
      (name) => this.#subscriptions.has(name),
      (name) => this.#bus.has(name),
      (name) => this.#pushPull.has(name),
    ]);
    const refusedForBytes = () => void this.counters.budgetRefusals++;
    this.#subscriptions = new Subscriptions(this.#delivery, this.#topics);
    this.#bus = new Bus(this.#delivery, this.#topics);
    this.#pushPull = new PushPull(
      this.#delivery,
      { queueLimit: limits.pushQueueLimit, queueBytes: limits.pushQueueBytes ?? Number.POSITIVE_INFINITY },
      this.budget,
      refusedForBytes,
      this.#topics,
    );
    this.#engine = engine({
      deliverPublish: (topic, message) => this.#deliverPublish(topic, message),
      deliverStamped: (stream, message, samePublish) => this.#subscriptions.deliverStream(stream, message, samePublish),
      deliverBus: (topic, message) => this.#bus.send(topic, message),
      deliverToPuller: (puller, topic, message) => this.#delivery.deliver(puller, message, topic) === 1,
      pushLocally: (topic, message) => this.#pushPull.push(topic, message),
      takeLocalQueue: () => this.#pushPull.takeWaiting(),
      forwardFailed: (count) => {
        this.counters.forwardFailures += count;
      },
      refusedForBytes,
      ancestorsOf: (topic) => this.#ancestorsOf(topic),
      budget: this.budget,
    });
    this.#resumeHost = {
      delivery: this.#delivery,
      maxBufferedBytes: limits.maxBufferedBytes,
      attach: (topic, receiver) => this.subscribeValidTopic(topic, receiver, true),
      attached: (receiver) => this.#attachments.has(receiver),
      promote: (topic, receiver) => this.#subscriptions.promote(topic, receiver),
      localPosition: (topic) => this.#subscriptions.position(topic),
    };
  }

  /** The engine's health and lifecycle (for `/healthz` and a server's start and stop). */
  get engine(): EngineLifecycle {
    return this.#engine;
  }

  /**
   * Called before a receiver attaches (before a WebSocket upgrade or an SSE response): a promise
   * means "wait: other nodes' messages will reach it once this resolves". Never rejects.
   */
  prepare(kind: ReceiverKind, topic: string): Promise<void> | undefined {
    return this.#engine.prepare(kind, topic);
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
  subscribeValidTopic(name: string, receiver: Receiver, individually = false): void {
    if (!this.#subscriptions.add(name, receiver, individually)) return;
    this.#attach(receiver, 'sub', name);
    this.counters.subscribers++;
    if (this.#subscriptions.sizeOf(name) === 1) this.#engine.topicActive('sub', name);
  }

  /**
   * Subscribes a receiver that wants ids (`Receiver.deliverStamped`) to `name` (validated) from
   * the id `since` on: it first hears of a gap if messages after `since` were lost
   * (`deliverGap`), then gets what the topic's stream holds after `since`, then everything
   * published from then on, each message once and in stream order. It is attached at once and
   * what reaches it while its replay is read waits (Delivery.hold), so nothing falls in between.
   *
   * `since` undefined: from now on, but first told where it starts (`deliverPosition`): the id of
   * the stream's last message, every message after which reaches it and none before, so a
   * subscriber cut before its first message resumes from there (resume.ts).
   */
  subscribeFrom(name: string, receiver: Receiver, since: string | undefined): void {
    if (!this.#engine.recover) {
      // No history: nothing to replay; the topic's own positions tell what was missed.
      if (since === undefined) {
        // Attached first so that the topic counts; nothing can be published in between.
        this.subscribeValidTopic(name, receiver);
        const position = this.#subscriptions.position(name);
        if (position) receiver.deliverPosition?.({ topic: name, id: formatStreamId(position.epoch, position.offset) });
        return;
      }
      const { gap } = this.#subscriptions.recover(name, since);
      if (gap) receiver.deliverGap?.(gap);
      this.subscribeValidTopic(name, receiver);
      return;
    }
    resume(this.#resumeHost, name, receiver, since, (topic, from) => this.#engine.recover!(topic, from));
  }

  /** A resumed subscriber caught up: it may join its broadcaster (Subscriptions.promote). */
  #promote(receiver: Receiver): void {
    const attached = this.#attachments.get(receiver);
    if (typeof attached === 'string') this.#subscriptions.promote(attached, receiver);
  }

  /** Undoes `addTopicSubscriber`; returns false if it was not subscribed. */
  removeTopicSubscriber(topic: string, subscriber: Subscriber | Receiver): boolean {
    const receiver = receiverFor(subscriber);
    if (!this.#subscriptions.remove(topic, receiver)) return false;
    this.#detachOne(receiver, 'sub', topic);
    this.counters.subscribers--;
    if (!this.#subscriptions.has(topic)) this.#engine.topicIdle('sub', topic);
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
    return this.publishOnPath(this.#pathOf(topic), message);
  }

  /**
   * The path to publish on `topic` (validated and normalised) with `publishOnPath`: for a
   * publisher that keeps it (a socket), so that its frames skip every lookup of the topic. It
   * remembers the subscribers it reached; drop it with the publisher.
   */
  publishPath(topic: string): PublishPath {
    return new PublishPath(topic, this.#pathOf(topic).ancestors, true);
  }

  /** `publishValidTopic` on a path from `publishPath`. */
  publishOnPath(path: PublishPath, message: BrokerMessage): number {
    this.counters.messagesIn++;
    const topic = path.topic;
    // With history the engine gives the message its ids first (or relays it, see engine.ts).
    const stamps = this.#engine.stamp?.(topic, message);
    if (stamps === RELAYED) return 0;
    const delivered = this.#subscriptions.publish(path, message, stamps);
    this.#engine.publish(topic, message);
    return delivered;
  }

  /** Local delivery only (also what the engine asks for with messages from other nodes). */
  #deliverPublish(topic: string, message: BrokerMessage): number {
    return this.#subscriptions.publish(this.#pathOf(topic), message);
  }

  // --- bus -----------------------------------------------------------------------------------

  joinBus(topic: string, peer: Receiver, echo: boolean): void {
    const isNew = !this.#bus.has(topic);
    this.#bus.join(topic, peer, echo);
    this.#attach(peer, 'bus', topic);
    this.counters.peers++;
    if (isNew) this.#engine.topicActive('bus', topic);
  }

  leaveBus(topic: string, peer: Receiver): boolean {
    if (!this.#bus.leave(topic, peer)) return false;
    this.#detachOne(peer, 'bus', topic);
    this.counters.peers--;
    if (!this.#bus.has(topic)) this.#engine.topicIdle('bus', topic);
    return true;
  }

  /** Sends to every peer of `topic` (but the sender, unless it joined with echo). */
  sendBus(topic: string, message: MessageData | BrokerMessage, sender?: Receiver): number {
    const brokerMessage = message instanceof BrokerMessage ? message : new BrokerMessage(message);
    this.counters.messagesIn++;
    const delivered = this.#bus.send(topic, brokerMessage, sender);
    this.#engine.sendBus(topic, brokerMessage);
    return delivered;
  }

  // --- push/pull -----------------------------------------------------------------------------

  addPuller(topic: string, puller: Receiver): void {
    this.#attach(puller, 'pull', topic);
    this.counters.pullers++;
    this.#pushPull.addPuller(topic, puller);
    this.#engine.pullerAdded(topic, puller);
  }

  removePuller(topic: string, puller: Receiver): boolean {
    if (!this.#pushPull.removePuller(topic, puller)) return false;
    this.#detachOne(puller, 'pull', topic);
    this.counters.pullers--;
    this.#engine.pullerRemoved(topic, puller);
    return true;
  }

  /**
   * Gives the message to the next puller, or queues it; `full` means it was refused. In cluster
   * mode the answer comes from Redis, so it is a promise.
   */
  push(topic: string, message: MessageData | BrokerMessage): PushResult | Promise<PushResult> {
    const brokerMessage = message instanceof BrokerMessage ? message : new BrokerMessage(message);
    const result = this.#engine.push(topic, brokerMessage);
    return typeof result === 'string' ? this.#countPush(result) : result.then(this.#countPush);
  }

  /** A push counts as a message in once a puller or a queue has taken it. */
  readonly #countPush = (result: PushResult): PushResult => {
    if (result === 'delivered' || result === 'queued') this.counters.messagesIn++;
    return result;
  };

  // --- bookkeeping ---------------------------------------------------------------------------

  /** Removes a receiver from everything it is attached to (a slow consumer, a closed socket). */
  detach(receiver: Receiver): void {
    const attachments = this.#attachments.get(receiver);
    if (!attachments) return;
    this.#delivery.forget(receiver);
    for (const { kind, topic } of attachmentsIn(attachments)) {
      if (kind === 'sub') this.removeTopicSubscriber(topic, receiver);
      else if (kind === 'bus') this.leaveBus(topic, receiver);
      else this.removePuller(topic, receiver);
    }
  }

  /**
   * Closes a receiver as a slow consumer (1013, counted) and detaches it: for transports whose
   * runtime fans out natively and so apply the rule themselves (see TopicBroadcaster).
   */
  dropSlowConsumer(receiver: Receiver): void {
    this.#delivery.dropSlowConsumer(receiver);
  }

  /** The topic and its ancestors. */
  #ancestorsOf(topic: string): readonly string[] {
    return this.#pathOf(topic).ancestors;
  }

  /** The publish path of a topic (one that does not remember), cached for topics used again (POSTs, the engine's). */
  #pathOf(topic: string): PublishPath {
    let path = this.#pathCache.get(topic);
    if (!path) {
      path = new PublishPath(topic, ancestors(topic));
      if (this.#pathCache.size >= PATH_CACHE_ENTRIES) this.#pathCache.clear();
      this.#pathCache.set(topic, path);
    }
    return path;
  }

  /** O(1) in the number of topics and clients: every figure is kept as things change. */
  stats(): BrokerStats {
    const c = this.counters;
    const history = this.#engine.historyStats?.();
    return {
      connections: c.connections,
      subscribers: c.subscribers,
      publishers: c.publishers,
      peers: c.peers,
      pushers: c.pushers,
      pullers: c.pullers,
      topics: this.#topics.count,
      queued: this.#pushPull.queued,
      messagesIn: c.messagesIn,
      messagesOut: c.messagesOut,
      slowConsumerDisconnects: c.slowConsumerDisconnects,
      uptimeSeconds: Math.floor((Date.now() - c.startedAt) / 1000),
      refused: c.refused,
      forwardFailures: c.forwardFailures,
      heldBytes: this.budget.held,
      budgetRefusals: c.budgetRefusals + this.budget.refusals,
      historyTopics: history?.topics ?? 0,
      historyMessages: history?.messages ?? 0,
      historyBytes: history?.bytes ?? 0,
    };
  }

  #validTopic(topic: string): string {
    const parsed = parseTopic(topic, this.limits);
    if (!parsed.ok) throw new TypeError(`invalid topic ${JSON.stringify(topic)}: ${parsed.error}`);
    return parsed.topic.name;
  }

  #attach(receiver: Receiver, kind: ReceiverKind, topic: string): void {
    const existing = this.#attachments.get(receiver);
    if (Array.isArray(existing)) {
      existing.push({ kind, topic });
      return;
    }
    if (existing !== undefined) {
      this.#attachments.set(receiver, [...attachmentsIn(existing), { kind, topic }]);
      return;
    }
    this.#attachments.set(receiver, kind === 'sub' ? topic : { kind, topic });
    // Attached anew after being dropped as a slow consumer: it gets messages again.
    this.#delivery.readmit(receiver);
  }

  #detachOne(receiver: Receiver, kind: Attachment['kind'], topic: string): void {
    const existing = this.#attachments.get(receiver);
    if (existing === undefined) return;
    if (typeof existing === 'string') {
      if (kind === 'sub' && existing === topic) this.#attachments.delete(receiver);
      return;
    }
    if (!Array.isArray(existing)) {
      if (existing.kind === kind && existing.topic === topic) this.#attachments.delete(receiver);
      return;
    }
    const index = existing.findIndex((a) => a.kind === kind && a.topic === topic);
    if (index !== -1) existing.splice(index, 1);
    if (existing.length === 0) this.#attachments.delete(receiver);
  }
}
