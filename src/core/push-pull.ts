/**
 * Push/pull: each message goes to exactly one puller of exactly its topic, round robin in
 * connect order (the cursor rules Mercury's tests pin, see PROTOCOL.md). While no puller is
 * connected messages wait in a per-topic queue bounded in messages (`pushQueueLimit`) and in
 * bytes (`pushQueueBytes`), and every queued message reserves from the broker's byte budget
 * (`maxHeldBytes`); a queue or budget that is full refuses, never drops.
 */
import type { BrokerMessage } from '../message.ts';
import type { Receiver } from '../receiver.ts';
import type { ByteBudget } from './byte-budget.ts';
import type { Delivery } from './delivery.ts';
import { QUEUE_OVERHEAD, QUEUED_MESSAGE_OVERHEAD } from './held-bytes.ts';
import type { TopicEvents } from './topic-count.ts';

interface PushTopic {
  pullers: Receiver[];
  cursor: number;
  queue: BrokerMessage[];
  /** Each queued message's size, kept so releasing it costs no second measure. */
  sizes: number[];
  /** Index of the first message still waiting (shifting a big array per message is O(n)). */
  head: number;
  /** Bytes of the messages still waiting (what `pushQueueBytes` bounds). */
  bytes: number;
}

/**
 * What became of a push. Refused: `full` (the topic's queue holds `pushQueueLimit` messages),
 * `full-bytes` (it would pass the topic's `pushQueueBytes`), `over-budget` (the broker holds
 * `maxHeldBytes`), `unavailable` (the cluster engine lost the message's fate: Redis went away
 * mid-push or refuses writes), `timeout` (the cluster engine did not answer in time; the message
 * will not be delivered later).
 */
export type PushResult = 'delivered' | 'queued' | 'full' | 'full-bytes' | 'over-budget' | 'unavailable' | 'timeout';

export interface PushLimits {
  /** Messages one topic's queue holds (`pushQueueLimit`). */
  queueLimit: number;
  /** Bytes one topic's queue holds (`pushQueueBytes`). */
  queueBytes: number;
}

export class PushPull {
  readonly #topics = new Map<string, PushTopic>();
  #queued = 0;

  constructor(
    private readonly delivery: Delivery,
    private readonly limits: PushLimits,
    /** The broker's byte budget: every queued message reserves from it. */
    private readonly budget: ByteBudget,
    /** Counts a push refused for its topic's `pushQueueBytes` (the budget counts its own). */
    private readonly refusedForBytes: () => void,
    private readonly topics?: TopicEvents,
  ) {}

  get queued(): number {
    return this.#queued;
  }

  has(topic: string): boolean {
    return this.#topics.has(topic);
  }

  push(topic: string, message: BrokerMessage): PushResult {
    let entry = this.#topics.get(topic);
    if (!entry) {
      if (this.limits.queueLimit === 0) return 'full';
      entry = this.#create(topic);
    }
    while (entry.pullers.length > 0) {
      if (this.#deliverToNext(entry, topic, message)) return 'delivered';
    }
    const refused = this.#enqueue(entry, message);
    if (refused) this.#forgetIfEmpty(topic, entry);
    return refused ?? 'queued';
  }

  addPuller(topic: string, puller: Receiver): void {
    const entry = this.#topics.get(topic) ?? this.#create(topic);
    entry.pullers.push(puller);
    this.#drain(topic, entry);
  }

  removePuller(topic: string, puller: Receiver): boolean {
    const entry = this.#topics.get(topic);
    if (!entry) return false;
    const index = entry.pullers.indexOf(puller);
    if (index === -1) return false;
    entry.pullers.splice(index, 1);
    // Mercury: the list closes up; a cursor past the end wraps to 0.
    if (entry.cursor >= entry.pullers.length) entry.cursor = 0;
    this.#forgetIfEmpty(topic, entry);
    return true;
  }

  /**
   * Removes and returns the waiting messages of every topic that has no puller, oldest first
   * (a cluster engine moves what queued here while Redis was away to the shared queue).
   */
  takeWaiting(): Array<[topic: string, messages: BrokerMessage[]]> {
    const taken: Array<[string, BrokerMessage[]]> = [];
    for (const [topic, entry] of this.#topics) {
      if (entry.pullers.length > 0 || entry.head === entry.queue.length) continue;
      const messages = entry.queue.slice(entry.head);
      this.#queued -= messages.length;
      this.budget.release(entry.bytes + messages.length * QUEUED_MESSAGE_OVERHEAD + QUEUE_OVERHEAD);
      this.#topics.delete(topic);
      this.topics?.deleted(topic);
      taken.push([topic, messages]);
    }
    return taken;
  }

  #create(topic: string): PushTopic {
    const entry: PushTopic = { pullers: [], cursor: 0, queue: [], sizes: [], head: 0, bytes: 0 };
    this.#topics.set(topic, entry);
    this.topics?.created(topic);
    return entry;
  }

  /** Queues the message, or says which limit refused it. */
  #enqueue(entry: PushTopic, message: BrokerMessage): PushResult | undefined {
    if (entry.queue.length - entry.head >= this.limits.queueLimit) return 'full';
    const size = message.size;
    if (entry.bytes + size > this.limits.queueBytes) {
      this.refusedForBytes();
      return 'full-bytes';
    }
    // The first message of a queue also pays for the queue itself.
    const cost = size + QUEUED_MESSAGE_OVERHEAD + (entry.head === entry.queue.length ? QUEUE_OVERHEAD : 0);
    if (!this.budget.tryReserve(cost)) return 'over-budget';
    entry.queue.push(message);
    entry.sizes.push(size);
    entry.bytes += size;
    this.#queued++;
    return undefined;
  }

  /** Returns true if delivered; false if the puller at the cursor was a slow consumer (removed). */
  #deliverToNext(entry: PushTopic, topic: string, message: BrokerMessage): boolean {
    const puller = entry.pullers[entry.cursor]!;
    entry.cursor = (entry.cursor + 1) % entry.pullers.length;
    // A slow puller is removed by the delivery's callback before this returns 0.
    return this.delivery.deliver(puller, message, topic) === 1;
  }

  #drain(topic: string, entry: PushTopic): void {
    const hadQueue = entry.head < entry.queue.length;
    while (entry.head < entry.queue.length && entry.pullers.length > 0) {
      const message = entry.queue[entry.head]!;
      if (!this.#deliverToNext(entry, topic, message)) continue;
      const size = entry.sizes[entry.head]!;
      entry.queue[entry.head] = undefined as unknown as BrokerMessage;
      entry.head++;
      entry.bytes -= size;
      this.#queued--;
      this.budget.release(size + QUEUED_MESSAGE_OVERHEAD);
    }
    if (entry.head === entry.queue.length) {
      if (hadQueue) this.budget.release(QUEUE_OVERHEAD);
      entry.queue = [];
      entry.sizes = [];
      entry.head = 0;
    } else if (entry.head > 1024 && entry.head * 2 > entry.queue.length) {
      entry.queue = entry.queue.slice(entry.head);
      entry.sizes = entry.sizes.slice(entry.head);
      entry.head = 0;
    }
    this.#forgetIfEmpty(topic, entry);
  }

  #forgetIfEmpty(topic: string, entry: PushTopic): void {
    if (entry.pullers.length > 0 || entry.head !== entry.queue.length) return;
    this.#topics.delete(topic);
    this.topics?.deleted(topic);
  }
}
